import { Roles } from '../auth/auth.js';
import { Controller, Get, Header, Query, Res } from '@nestjs/common';
import { DIAGRAM_FORMATS, OrderFsmDiagrams, type DiagramFormat } from '@order-fsm/core';
import { ApiOkResponse, ApiOperation, ApiProduces, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { IsIn, IsOptional } from 'class-validator';
import { ApiErrors } from '../openapi/openapi.js';
import type { FastifyReply } from 'fastify';
import { BIZ_CODES, SCENE_IDS } from '../taxi/taxi.model.js';

export class DiagramQuery {
  @ApiPropertyOptional({ enum: BIZ_CODES, description: 'With sceneId: only the transitions this bizCode@sceneId can take' })
  @IsOptional()
  @IsIn(BIZ_CODES)
  bizCode?: string;

  @ApiPropertyOptional({ enum: SCENE_IDS })
  @IsOptional()
  @IsIn(SCENE_IDS)
  sceneId?: string;

  @ApiPropertyOptional({ enum: DIAGRAM_FORMATS, default: 'svg' })
  @IsOptional()
  @IsIn(DIAGRAM_FORMATS)
  format?: DiagramFormat;
}

const CONTENT_TYPES: Record<DiagramFormat, string> = {
  svg: 'image/svg+xml; charset=utf-8',
  mermaid: 'text/vnd.mermaid; charset=utf-8',
  dot: 'text/vnd.graphviz; charset=utf-8',
};

/** The machine draws itself: the whole taxi machine, or what one bizCode@sceneId can take. */
@ApiTags('machine')
@Roles('operator')
@Controller('fsm')
export class FsmController {
  constructor(private readonly diagrams: OrderFsmDiagrams) {}

  @Get('diagram')
  @ApiOperation({ summary: 'The machine drawn: SVG, Mermaid or Graphviz DOT' })
  @ApiProduces(...Object.values(CONTENT_TYPES))
  @ApiOkResponse({ description: 'The diagram', schema: { type: 'string' } })
  @ApiErrors('VALIDATION_FAILED')
  @Header('Cache-Control', 'no-cache')
  async diagram(@Query() query: DiagramQuery, @Res({ passthrough: true }) response: FastifyReply): Promise<string> {
    const format = query.format ?? 'svg';
    response.type(CONTENT_TYPES[format]);
    return this.diagrams.render(format, { bizCode: query.bizCode, sceneId: query.sceneId });
  }

  /** What the machine's validation says, warnings included (errors would have stopped the service). */
  @Get('validation')
  @ApiOperation({ summary: "What the machine's validation says (errors would have stopped the service)" })
  @ApiOkResponse({ schema: { type: 'object', properties: { issues: { type: 'array', items: { type: 'object', properties: { severity: { type: 'string', enum: ['error', 'warning'] }, code: { type: 'string' }, message: { type: 'string' } } } } } } })
  validation() {
    return { issues: this.diagrams.validate() };
  }
}
