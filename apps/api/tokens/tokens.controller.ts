import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiOperation, ApiProperty, ApiTags } from '@nestjs/swagger';
import { ArrayMaxSize, ArrayNotEmpty, IsArray, IsIn, IsString, Matches } from 'class-validator';
import { Clock } from '../../../libs/application/src';
import { ROLES, Role } from '../../../libs/domain/src';
import { TokenService } from '../auth/token.service';
import { Roles } from '../auth/roles.decorator';
import { Actor, RequestActor, metadataFor } from '../common/request-context';
import { CLOCK } from '../common/tokens';

export class CreateTokenDto {
  @ApiProperty({ example: 'ci-requester', description: 'Recorded as the actor of every event this token causes.' })
  @IsString() @Matches(/^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/, { message: 'name must be 1-64 letters, digits, ".", "_", "@" or "-"' })
  name!: string;

  @ApiProperty({ enum: ROLES, isArray: true, example: ['requester'] })
  @IsArray() @ArrayNotEmpty() @ArrayMaxSize(5) @IsIn(ROLES as string[], { each: true })
  roles!: Role[];
}

export class CreatedTokenResponse {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ enum: ROLES, isArray: true }) roles!: Role[];
  @ApiProperty({ description: 'The bearer token. Shown once: only its hash is stored.' }) token!: string;
}

@ApiTags('tokens')
@ApiBearerAuth()
@Controller('tokens')
@Roles('admin')
export class TokensController {
  constructor(
    private readonly tokens: TokenService,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  @Post()
  @ApiOperation({ summary: 'Create an API token (admin). The secret is returned once.' })
  @ApiCreatedResponse({ type: CreatedTokenResponse })
  async create(@Body() dto: CreateTokenDto, @Actor() who: RequestActor): Promise<CreatedTokenResponse> {
    const { tokenId, token } = await this.tokens.create(dto.name, dto.roles, metadataFor(who, this.clock.now()));
    return { id: tokenId, name: dto.name, roles: [...new Set(dto.roles)], token };
  }

  @Get()
  @ApiOperation({ summary: 'List tokens (names, roles, dates; never secrets or hashes).' })
  async list() {
    return { items: await this.tokens.list() };
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Revoke a token.' })
  async revoke(@Param('id') id: string, @Actor() who: RequestActor): Promise<void> {
    await this.tokens.revoke(id, metadataFor(who, this.clock.now()));
  }
}
