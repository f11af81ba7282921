import { Controller, Get, Header, Inject, ServiceUnavailableException } from '@nestjs/common';
import { ReadinessRegistry, type ReadinessResult } from './readiness-registry.js';

/** Body of `GET /healthz`. */
export interface LivenessBody {
  status: 'ok';
}

/** Body of `GET /readyz`, with 200 (`ok`) or 503 (`not_ready`). */
export interface ReadinessBody {
  status: 'ok' | 'not_ready';
  checks: Record<string, ReadinessResult>;
}

/**
 * The probes. Liveness says only that the process answers (restarting it will not fix a broker
 * that is down); readiness says whether it should be given work.
 */
@Controller()
export class HealthController {
  // Explicit token: no reliance on emitted decorator metadata for this one.
  constructor(@Inject(ReadinessRegistry) private readonly readiness: ReadinessRegistry) {}

  @Get('healthz')
  @Header('Cache-Control', 'no-store')
  healthz(): LivenessBody {
    return { status: 'ok' };
  }

  @Get('readyz')
  @Header('Cache-Control', 'no-store')
  async readyz(): Promise<ReadinessBody> {
    const report = await this.readiness.check();
    if (!report.ok) {
      // Nest sends an object given to an HttpException as the response body, as is.
      throw new ServiceUnavailableException({
        status: 'not_ready',
        checks: report.checks,
      } satisfies ReadinessBody);
    }
    return { status: 'ok', checks: report.checks };
  }
}
