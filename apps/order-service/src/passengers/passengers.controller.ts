import { Body, Controller, Param, Put } from '@nestjs/common';
import { DependencyUnavailableError, isConnectionError } from '@order-fsm/core';
import { ApiOkResponse, ApiOperation, ApiProperty, ApiTags } from '@nestjs/swagger';
import { IsString, Length, Matches } from 'class-validator';
import { DataSource } from 'typeorm';
import { Roles } from '../auth/auth.js';
import { IdPipe } from '../orders/id.pipe.js';
import { ApiErrors, BODY_ERRORS, COMMON_ERRORS } from '../openapi/openapi.js';
import { PassengerEntity } from '../taxi/taxi.entities.js';

export class PutPassengerDto {
  @ApiProperty({ minLength: 1, maxLength: 128, example: 'Ann' })
  @IsString()
  @Length(1, 128)
  // Well-formed Unicode: a lone UTF-16 surrogate has no UTF-8 form, and would be stored as U+FFFD.
  @Matches(/^\P{Cs}*$/u, { message: 'name must be well-formed Unicode (it holds a lone UTF-16 surrogate)' })
  name: string;
}

/** The passenger directory the CREATE checkers consult. */
@ApiTags('passengers')
@ApiErrors(...COMMON_ERRORS, ...BODY_ERRORS, 'FORBIDDEN')
@Roles('client', 'operator')
@Controller('passengers')
export class PassengersController {
  constructor(private readonly dataSource: DataSource) {}

  @Put(':passengerId')
  @ApiOperation({ summary: 'Create or rename a passenger (orders check that theirs exists)' })
  @ApiOkResponse({ schema: { type: 'object', properties: { passengerId: { type: 'string' }, name: { type: 'string' } } } })
  async put(@Param('passengerId', IdPipe) passengerId: string, @Body() dto: PutPassengerDto) {
    try {
      // An upsert that keeps created_at, in the dialect of the database (MySQL, PostgreSQL, or SQLite when embedded).
      await this.dataSource
        .createQueryBuilder()
        .insert()
        .into(PassengerEntity)
        .values({ id: passengerId, name: dto.name, createdAt: new Date() })
        .orUpdate(['name'], ['id'])
        .execute();
    } catch (error) {
      throw isConnectionError(error) ? new DependencyUnavailableError('database', error) : error;
    }
    return { passengerId, name: dto.name };
  }
}
