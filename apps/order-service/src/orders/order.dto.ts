import { IsIn, IsObject, IsOptional, IsString, Matches } from 'class-validator';
import { ID_PATTERN } from '../ids.js';
import { BIZ_CODES, SCENE_IDS } from '../taxi/taxi.model.js';

const ID_MESSAGE = '$property must be 1 to 64 characters of letters, digits, "_", ".", ":" or "-"';

export class CreateOrderDto {
  @IsString()
  @Matches(ID_PATTERN, { message: ID_MESSAGE })
  requestId: string;

  @IsIn(BIZ_CODES)
  bizCode: string;

  @IsIn(SCENE_IDS)
  sceneId: string;

  @IsObject()
  payload: Record<string, unknown>;
}

export class SendEventDto {
  @IsString()
  @Matches(ID_PATTERN, { message: ID_MESSAGE })
  event: string;

  @IsString()
  @Matches(ID_PATTERN, { message: ID_MESSAGE })
  requestId: string;

  @IsOptional()
  @IsString()
  @Matches(ID_PATTERN, { message: ID_MESSAGE })
  expectedState?: string;

  @IsOptional()
  @IsObject()
  payload?: Record<string, unknown>;
}
