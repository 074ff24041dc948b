import 'reflect-metadata';
import { loadConfig } from '../../libs/config/src';
import { createAuditCheckpoint, openEventStore, verifyAuditLog } from '../../libs/event-store/src';

/**
 * certflow admin commands (run against DATABASE_URL):
 *   migrate               create the database if missing and apply migrations
 *   rebuild-projections   drop every projection and replay the whole log into it
 *   verify-audit          recompute every hash chain and global checkpoint; exit 1 on any problem
 *   checkpoint-audit      record a global checkpoint over the log as it is now
 */
async function main(argv: string[]): Promise<number> {
  const command = argv[0];
  const config = loadConfig();
  const usage = 'usage: certflow <migrate | rebuild-projections | verify-audit | checkpoint-audit>';
  if (!command || !['migrate', 'rebuild-projections', 'verify-audit', 'checkpoint-audit'].includes(command)) {
    process.stderr.write(usage + '\n');
    return 2;
  }
  const { pool, store } = await openEventStore(config.databaseUrl, 2);
  try {
    switch (command) {
      case 'migrate':
        process.stdout.write('migrations applied\n');
        return 0;
      case 'rebuild-projections': {
        const { events } = await store.rebuildProjections();
        process.stdout.write(`projections rebuilt from ${events} events\n`);
        return 0;
      }
      case 'verify-audit': {
        const result = await verifyAuditLog(pool);
        for (const p of result.problems) process.stdout.write(`PROBLEM ${p.streamId}${p.streamVersion ? `@${p.streamVersion}` : ''}: ${p.problem}\n`);
        process.stdout.write(`${result.events} events, ${result.checkpoints} checkpoints verified, ${result.problems.length} problems\n`);
        return result.problems.length === 0 ? 0 : 1;
      }
      case 'checkpoint-audit': {
        const c = await createAuditCheckpoint(pool);
        process.stdout.write(`checkpoint ${c.id} covers ${c.events} events\n`);
        return 0;
      }
    }
    return 2;
  } finally {
    await pool.end();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`certflow: ${(e as Error).message}\n`);
    process.exit(1);
  },
);
