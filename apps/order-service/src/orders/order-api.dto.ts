import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

// The shapes the order endpoints answer, for the OpenAPI document (order-views.ts builds them).

export class OrderFlagDto {
  @ApiProperty()
  at: Date;

  @ApiProperty({ example: 'AUTO_PAY failed 4 times: billing is down' })
  reason: string;
}

export class OrderViewDto {
  @ApiProperty({ example: '6cb09c4f-4e37-43ef-9baa-ee3f1f14fa3f' })
  orderId: string;

  @ApiProperty({ example: 'ACCEPTED' })
  state: string;

  @ApiProperty({ example: 2, description: 'Counts the transitions applied; the fence against concurrent writers.' })
  version: number;

  @ApiProperty({ example: 'EXPRESS' })
  bizCode: string;

  @ApiProperty({ example: 'APP' })
  sceneId: string;

  @ApiProperty({ type: 'object', additionalProperties: true })
  data: Record<string, unknown>;

  @ApiProperty()
  createdAt: Date;

  @ApiProperty()
  updatedAt: Date;

  @ApiPropertyOptional({ type: OrderFlagDto, description: 'Present when automatic work was dead-lettered: a person should look.' })
  flag?: OrderFlagDto;
}

export class TransitionViewDto {
  @ApiProperty()
  orderId: string;

  @ApiProperty({ example: 'ACCEPT' })
  event: string;

  @ApiProperty({ example: 'CREATED' })
  fromState: string;

  @ApiProperty({ example: 'ACCEPTED' })
  toState: string;

  @ApiProperty({ example: 2 })
  version: number;

  @ApiProperty({ type: 'object', additionalProperties: true, nullable: true, description: "The processor's result" })
  result: Record<string, unknown> | null;

  @ApiProperty({ type: OrderViewDto })
  order: OrderViewDto;
}

export class TransitionLogDto {
  @ApiProperty({ example: 2 })
  version: number;

  @ApiProperty({ example: 'ACCEPT' })
  event: string;

  @ApiProperty({ example: 'CREATED' })
  fromState: string;

  @ApiProperty({ example: 'ACCEPTED' })
  toState: string;

  @ApiProperty()
  requestId: string;

  @ApiProperty({ enum: ['api', 'worker', 'timer', 'sweeper'], example: 'api' })
  source: string;

  @ApiProperty()
  createdAt: Date;
}
