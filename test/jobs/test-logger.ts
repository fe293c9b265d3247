import { type Logger, pino } from 'pino';

/** A pino logger that keeps its records in memory, for asserting on warnings. */
export function memoryLogger(
  level: pino.LevelWithSilent = 'warn',
): Logger & { records: Array<Record<string, unknown>> } {
  const records: Array<Record<string, unknown>> = [];
  const logger = pino({ level }, { write: (line: string) => records.push(JSON.parse(line)) });
  return Object.assign(logger, { records });
}
