import { type CanActivate, type ExecutionContext, Injectable, UnsupportedMediaTypeException } from '@nestjs/common';

const WITH_BODY = new Set(['POST', 'PUT', 'PATCH']);
const JSON_TYPE = /^application\/json\s*(;|$)/i;

/**
 * The service speaks JSON only: a request that carries a body of another type (a form, text, XML)
 * is UNSUPPORTED_MEDIA_TYPE (415), rather than a body parsed as empty and refused field by field.
 */
@Injectable()
export class JsonBodyGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<{ method: string; headers: Record<string, string | undefined> }>();
    if (!WITH_BODY.has(request.method)) return true;
    const hasBody = request.headers['transfer-encoding'] !== undefined || Number(request.headers['content-length'] ?? 0) > 0;
    if (hasBody && !JSON_TYPE.test(request.headers['content-type'] ?? '')) {
      throw new UnsupportedMediaTypeException(`send the body as application/json, not ${request.headers['content-type'] ?? 'without a content type'}`);
    }
    return true;
  }
}
