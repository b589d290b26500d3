/** Where the apps come from: the checkout's apps/ folder, wherever a command is started. */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's apps/ folder (SHOESTRING_APPS_DIR overrides it). */
export const APPS_SOURCE =
  process.env['SHOESTRING_APPS_DIR'] ??
  join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'apps');
