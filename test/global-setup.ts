// Started once for the whole run: a real redis-server for the Redis store tests (`inject('redisUrl')`).
import type { TestProject } from 'vitest/node';
import { startRedisServer, type RedisServer } from './helpers/redis-server.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
  }
}

let server: RedisServer | undefined;

export async function setup(project: TestProject): Promise<void> {
  server = await startRedisServer();
  project.provide('redisUrl', server.url);
}

export async function teardown(): Promise<void> {
  await server?.stop();
}
