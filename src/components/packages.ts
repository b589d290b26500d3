/**
 * The stack's Debian packages in one apt transaction, before the components that use them: one
 * dpkg run (and one round of triggers) instead of one per component saves CPU on every server.
 * Services are not started on install; each component starts its own once configured. The
 * components keep their own package steps (no-ops after this), so `--only web` still works.
 */
import { apt } from '../plan/steps/index.ts';
import { appPackages } from './apps.ts';
import { ETCD_PACKAGES } from './etcd.ts';
import type { Component } from './types.ts';
import { UWSGI_PACKAGES } from './uwsgi.ts';
import { webPackages } from './web.ts';

export const packages: Component = {
  name: 'packages',
  description: "the stack's Debian packages, in one apt transaction",
  phases: (ctx) => [
    {
      title: 'Install packages',
      steps: [
        apt.packages(
          [
            ...ETCD_PACKAGES,
            ...webPackages(ctx.config.webServer),
            ...UWSGI_PACKAGES,
            ...appPackages(ctx.apps),
          ],
          { noStart: true, title: 'Packages of the stack' },
        ),
      ],
    },
  ],
};
