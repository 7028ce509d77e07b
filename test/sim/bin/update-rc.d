#!/usr/bin/env node
// Recording stand-in for update-rc.d: see test/sim/record.mjs.
import { standIn } from '../record.mjs';

standIn('update-rc.d');
