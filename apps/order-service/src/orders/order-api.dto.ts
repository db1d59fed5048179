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

  @ApiPropertyOptional({ type: OrderFlagDto, description: 'Present while an operator has the order paused: every event is refused with ORDER_PAUSED.' })
  paused?: OrderFlagDto;
}

/** One step of an order: what both a transition's answer and its log entry name. */
class TransitionStepDto {
  @ApiProperty({ example: 'ACCEPT' })
  event: string;

  @ApiProperty({ example: 'CREATED' })
  fromState: string;

  @ApiProperty({ example: 'ACCEPTED' })
  toState: string;

  @ApiProperty({ example: 2 })
  version: number;
}

export class LateOutcomeDto {
  @ApiProperty({ enum: ['ignore', 'hold', 'compensate'] })
  policy: string;

  @ApiProperty({ enum: ['ignored', 'compensated', 'held', 'released', 'expired', 'refused'] })
  status: string;

  @ApiPropertyOptional({ description: 'A held event: when it expires', format: 'date-time' })
  deadline?: string;
}

export class TransitionViewDto extends TransitionStepDto {
  @ApiProperty()
  orderId: string;

  @ApiProperty({ type: 'object', additionalProperties: true, nullable: true, description: "The processor's result" })
  result: Record<string, unknown> | null;

  @ApiProperty({ type: OrderViewDto })
  order: OrderViewDto;

  @ApiPropertyOptional({
    type: LateOutcomeDto,
    description: "Set when the event arrived in a state with no transition for it and the machine's late policy did not refuse it: the order did not move",
  })
  late?: LateOutcomeDto;

  @ApiPropertyOptional({ description: 'true when the late event was ignored, as the machine says', example: true })
  ignored?: boolean;
}

export class TransitionLogDto extends TransitionStepDto {
  @ApiProperty()
  requestId: string;

  @ApiProperty({ enum: ['api', 'worker', 'timer', 'sweeper', 'operator'], example: 'api' })
  source: string;

  @ApiProperty({ description: "The caller that sent it (its API_TOKENS name); `@system` for the service's own worker, timers and sweeper", example: 'app1' })
  caller: string;

  @ApiProperty({ description: 'Who acted: the operator who forced, sent or redrove it (through /ops); else the caller', example: 'app1' })
  actor: string;

  @ApiProperty({ type: 'string', nullable: true, description: "The operator's reason, for an operator's act; null otherwise", example: null })
  reason: string | null;

  @ApiProperty()
  createdAt: Date;
}
