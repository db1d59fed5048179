import { Roles } from '../auth/auth.js';
import { Controller, Get, Header, NotFoundException, Param, Query, Res } from '@nestjs/common';
import { DIAGRAM_FORMATS, OrderFsmDiagrams, ValidationFailedError, type DiagramFormat } from '@order-fsm/core';
import { ApiExcludeEndpoint, ApiOkResponse, ApiOperation, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { IsIn, IsOptional, Matches } from 'class-validator';
import { ApiErrors } from '../openapi/openapi.js';
import type { FastifyReply } from 'fastify';
import { BIZ_CODES, SCENE_IDS } from '../taxi/taxi.model.js';
import { diagramViewerPage, VIEWER_ASSETS } from './diagram-viewer.js';

/** What the service draws: the library's formats, and a page that shows the SVG with zoom and pan. */
type ViewFormat = DiagramFormat | 'html';
const VIEW_FORMATS: readonly ViewFormat[] = [...DIAGRAM_FORMATS, 'html'];

const VERSION = /^[1-9]\d{0,8}$/;

export class DiagramQuery {
  @ApiPropertyOptional({ enum: BIZ_CODES, description: 'With sceneId: only the transitions this bizCode@sceneId can take' })
  @IsOptional()
  @IsIn(BIZ_CODES)
  bizCode?: string;

  @ApiPropertyOptional({ enum: SCENE_IDS })
  @IsOptional()
  @IsIn(SCENE_IDS)
  sceneId?: string;

  @ApiPropertyOptional({ enum: VIEW_FORMATS, default: 'svg', description: 'html: a page that fits the SVG to the window, zooms (wheel, buttons) and pans (drag)' })
  @IsOptional()
  @IsIn(VIEW_FORMATS)
  format?: ViewFormat;

  @ApiPropertyOptional({ type: 'integer', minimum: 1, description: 'The version of the machine to draw, one the service serves (default: the current one)' })
  @IsOptional()
  @Matches(VERSION, { message: 'version must be a whole number from 1' })
  version?: string;

  @ApiPropertyOptional({ type: 'integer', minimum: 1, description: 'With to: draw what changes from this served version to that one (added green, removed red dashed, changed amber)' })
  @IsOptional()
  @Matches(VERSION, { message: 'from must be a whole number from 1' })
  from?: string;

  @ApiPropertyOptional({ type: 'integer', minimum: 1, description: 'With from: the later version of the diff (from = to is a diff in which everything is the same)' })
  @IsOptional()
  @Matches(VERSION, { message: 'to must be a whole number from 1' })
  to?: string;
}

const CONTENT_TYPES: Record<ViewFormat, string> = {
  svg: 'image/svg+xml; charset=utf-8',
  html: 'text/html; charset=utf-8',
  mermaid: 'text/vnd.mermaid; charset=utf-8',
  dot: 'text/vnd.graphviz; charset=utf-8',
};

const badVersions = (problem: string, field: string) => new ValidationFailedError(problem, { fields: [{ field, problems: [problem] }] });

/** The machine draws itself: the whole taxi machine, or what one bizCode@sceneId can take. */
@ApiTags('machine')
@Roles('operator')
@ApiErrors('FORBIDDEN', 'RATE_LIMITED')
@Controller('fsm')
export class FsmController {
  constructor(private readonly diagrams: OrderFsmDiagrams) {}

  @Get('diagram')
  @ApiOperation({
    summary: 'The machine drawn: SVG, Mermaid or Graphviz DOT; any served version (version=), or what changes between two (from=&to=)',
    description:
      'A version the service does not serve answers 400 VALIDATION_FAILED with the served ones in `details.versions`; `version` with `from`/`to`, or `from` without `to`, answers 400 VALIDATION_FAILED.',
  })
  @ApiOkResponse({ description: 'The diagram', content: Object.fromEntries(Object.values(CONTENT_TYPES).map((type) => [type, { schema: { type: 'string' } }])) })
  @ApiErrors('VALIDATION_FAILED')
  @Header('Cache-Control', 'no-cache')
  async diagram(@Query() query: DiagramQuery, @Res({ passthrough: true }) response: FastifyReply): Promise<string> {
    const format = query.format ?? 'svg';
    const drawing = format === 'html' ? 'svg' : format;
    const scope = { bizCode: query.bizCode, sceneId: query.sceneId };
    if (query.from !== undefined || query.to !== undefined) {
      if (query.version !== undefined) throw badVersions('version draws one version, from and to the difference between two: give one or the other', 'version');
      if (query.from === undefined || query.to === undefined) throw badVersions('from and to go together: the diff is from one served version to another', query.from === undefined ? 'from' : 'to');
    }
    // Drawn before the type is set: a version not served answers JSON, not an SVG content type.
    const drawn =
      query.from !== undefined
        ? await this.diagrams.renderDiff(drawing, Number(query.from), Number(query.to), scope)
        : await this.diagrams.render(drawing, scope, query.version === undefined ? undefined : Number(query.version));
    response.type(CONTENT_TYPES[format]);
    return format === 'html' ? diagramViewerPage(drawn) : drawn;
  }

  /** The viewer page's scripts (format=html): files of the service, as its CSP requires. */
  @Get('diagram/assets/:name')
  @ApiExcludeEndpoint()
  @Header('Cache-Control', 'no-cache')
  asset(@Param('name') name: string, @Res({ passthrough: true }) response: FastifyReply): string {
    const asset = Object.hasOwn(VIEWER_ASSETS, name) ? VIEWER_ASSETS[name] : undefined;
    if (!asset) throw new NotFoundException(`no asset ${name}`);
    response.type('text/javascript; charset=utf-8');
    return asset();
  }

  /** What the machine's validation says, warnings included (errors would have stopped the service). */
  @Get('validation')
  @ApiOperation({ summary: "What the machine's validation says (errors would have stopped the service)" })
  @ApiOkResponse({ schema: { type: 'object', properties: { issues: { type: 'array', items: { type: 'object', properties: { severity: { type: 'string', enum: ['error', 'warning'] }, code: { type: 'string' }, message: { type: 'string' }, version: { type: 'integer', description: 'The machine version the issue is about, when it is about one' } } } } } } })
  validation() {
    return { issues: this.diagrams.validate() };
  }
}
