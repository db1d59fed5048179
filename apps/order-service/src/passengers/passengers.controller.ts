import { Body, Controller, Param, Put } from '@nestjs/common';
import { DependencyUnavailableError, isConnectionError } from '@order-fsm/core';
import { IsString, Length } from 'class-validator';
import { DataSource } from 'typeorm';
import { IdPipe } from '../orders/id.pipe.js';

export class PutPassengerDto {
  @IsString()
  @Length(1, 128)
  name: string;
}

/** The passenger directory the CREATE checkers consult. */
@Controller('passengers')
export class PassengersController {
  constructor(private readonly dataSource: DataSource) {}

  @Put(':passengerId')
  async put(@Param('passengerId', IdPipe) passengerId: string, @Body() dto: PutPassengerDto) {
    try {
      await this.dataSource.query(
        'INSERT INTO taxi_passenger (id, name, created_at) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE name = VALUES(name)',
        [passengerId, dto.name, new Date()],
      );
    } catch (error) {
      throw isConnectionError(error) ? new DependencyUnavailableError('database', error) : error;
    }
    return { passengerId, name: dto.name };
  }
}
