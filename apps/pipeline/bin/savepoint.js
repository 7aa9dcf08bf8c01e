#!/usr/bin/env node
// Kept outside dist/ so package managers can link the bin before the first build.
import { main } from '../dist/main.js';

process.exitCode = await main(process.argv.slice(2));
