import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsObject, IsOptional, IsString, Matches, ValidateIf } from 'class-validator';
import { ID_PATTERN } from '../ids.js';
import { BIZ_CODES, SCENE_IDS } from '../taxi/taxi.model.js';

const ID_MESSAGE = '$property must be 1 to 64 characters of letters, digits, "_", ".", ":" or "-"';

const ID_DOC = { pattern: ID_PATTERN.source, maxLength: 64 };

export class CreateOrderDto {
  @ApiProperty({ ...ID_DOC, description: 'Idempotency key: the same id with the same body answers the first answer again', example: 'create-7f3a' })
  @IsString()
  @Matches(ID_PATTERN, { message: ID_MESSAGE })
  requestId: string;

  @ApiProperty({ enum: BIZ_CODES, example: 'EXPRESS' })
  @IsIn(BIZ_CODES)
  bizCode: string;

  @ApiProperty({ enum: SCENE_IDS, example: 'APP' })
  @IsIn(SCENE_IDS)
  sceneId: string;

  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    description: 'For the taxi machine: passengerId, pickup {lat, lng}, dropoff {lat, lng}; serviceType for AIRPORT',
    example: { passengerId: 'p-1', pickup: { lat: 31.2304, lng: 121.4737 }, dropoff: { lat: 31.1443, lng: 121.8083 } },
  })
  @IsObject()
  payload: Record<string, unknown>;
}

export class SendEventDto {
  @ApiProperty({ ...ID_DOC, description: 'An event the machine declares', example: 'ACCEPT' })
  @IsString()
  @Matches(ID_PATTERN, { message: ID_MESSAGE })
  event: string;

  @ApiProperty({ ...ID_DOC, description: 'Idempotency key: the same id with the same body answers the first answer again', example: 'accept-91c2' })
  @IsString()
  @Matches(ID_PATTERN, { message: ID_MESSAGE })
  requestId: string;

  @ApiPropertyOptional({ ...ID_DOC, description: 'Refuse the event (ORDER_STATE_NOT_MATCH) unless the order is in this state', example: 'CREATED' })
  // Absent, or a state: null is refused here, naming this field (IsOptional would let it through).
  @ValidateIf((_dto, value) => value !== undefined)
  @IsString()
  @Matches(ID_PATTERN, { message: ID_MESSAGE })
  expectedState?: string;

  @ApiPropertyOptional({ type: 'object', additionalProperties: true, description: "The event's data, e.g. { driverId } for ACCEPT", example: { driverId: 'driver-7' } })
  @IsOptional()
  @IsObject()
  payload?: Record<string, unknown>;
}
