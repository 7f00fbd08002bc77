/**
 * `node --import <this file>`: records every module specifier the process resolves that names a
 * package in `MODULE_LOAD_PATTERN` (a regular expression), one a line, in the file
 * `MODULE_LOAD_LOG`. Tests use it to prove that a gateway never loaded an optional dependency.
 */
import { register } from 'node:module';

register(new URL('./module-load-hooks.js', import.meta.url));
