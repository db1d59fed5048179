import { Controller, Get, Header, Query, Res } from '@nestjs/common';
import { DIAGRAM_FORMATS, OrderFsmDiagrams, type DiagramFormat } from '@order-fsm/core';
import { IsIn, IsOptional } from 'class-validator';
import type { Response } from 'express';
import { BIZ_CODES, SCENE_IDS } from '../taxi/taxi.model.js';

export class DiagramQuery {
  @IsOptional()
  @IsIn(BIZ_CODES)
  bizCode?: string;

  @IsOptional()
  @IsIn(SCENE_IDS)
  sceneId?: string;

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
@Controller('fsm')
export class FsmController {
  constructor(private readonly diagrams: OrderFsmDiagrams) {}

  @Get('diagram')
  @Header('Cache-Control', 'no-cache')
  async diagram(@Query() query: DiagramQuery, @Res({ passthrough: true }) response: Response): Promise<string> {
    const format = query.format ?? 'svg';
    response.type(CONTENT_TYPES[format]);
    return this.diagrams.render(format, { bizCode: query.bizCode, sceneId: query.sceneId });
  }

  /** What the machine's validation says, warnings included (errors would have stopped the service). */
  @Get('validation')
  validation() {
    return { issues: this.diagrams.validate() };
  }
}
