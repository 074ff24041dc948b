#!/usr/bin/env node
// Starts certflow: one api and one worker process, with the default configuration unless the
// environment says otherwise (DATABASE_URL, REDIS_URL, PORT, CERTFLOW_ADMIN_TOKEN, ...).
// Ctrl-C (or SIGTERM) drains both and exits. To scale out, run `npm run start:api` and
// `npm run start:worker` as many times as needed instead.
'use strict';
const { spawn } = require('node:child_process');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const children = [];
let stopping = false;

function run(name, file, delayMs) {
  setTimeout(() => {
    if (stopping) return;
    const child = spawn(process.execPath, [path.join(root, file)], { stdio: 'inherit', env: process.env, cwd: root });
    children.push(child);
    child.on('exit', (code, signal) => {
      if (!stopping) {
        console.error(`certflow: ${name} exited (${signal ?? code}); stopping.`);
        stop(code || 1);
      } else if (children.every((c) => c.exitCode !== null || c.signalCode !== null)) {
        process.exit(0);
      }
    });
  }, delayMs);
}

function stop(code) {
  if (stopping) return;
  stopping = true;
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  setTimeout(() => process.exit(code), 15_000).unref();
  if (children.length === 0) process.exit(code);
}

process.on('SIGINT', () => stop(0));
process.on('SIGTERM', () => stop(0));

// The api creates the database and runs migrations first; the worker follows.
run('api', 'dist/apps/api/main.js', 0);
run('worker', 'dist/apps/worker/main.js', 1500);
