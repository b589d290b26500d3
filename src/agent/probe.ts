/**
 * One /healthz request to a server's public address, as a client would make it (over HTTPS once
 * the cluster has its certificate, with the domain as SNI and Host). The certificate is not
 * checked here: this asks "does it answer 200", and the installer checks what it installs.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Probe } from './health.ts';

export interface ProbeOptions {
  readonly domain: string;
  readonly https: boolean;
  readonly timeoutMs: number;
}

export function probeHealthz(host: string, address: string, o: ProbeOptions): Promise<Probe> {
  return new Promise((resolve) => {
    let settled = false;
    const done = (ok: boolean, reason?: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ host, address, ok, ...(reason === undefined ? {} : { reason }) });
    };
    const options = {
      host: address,
      port: o.https ? 443 : 80,
      path: '/healthz',
      method: 'GET',
      headers: { Host: o.domain, 'User-Agent': 'shoestring-agent' },
    };
    const onResponse = (res: import('node:http').IncomingMessage): void => {
      res.resume();
      res.on('end', () =>
        done(res.statusCode === 200, res.statusCode === 200 ? undefined : `HTTP ${res.statusCode}`),
      );
    };
    const req = o.https
      ? httpsRequest({ ...options, servername: o.domain, rejectUnauthorized: false }, onResponse)
      : httpRequest(options, onResponse);
    // One deadline for connect + answer (a silently dead server sends nothing back).
    const timer = setTimeout(() => {
      req.destroy();
      done(false, `no answer in ${o.timeoutMs} ms`);
    }, o.timeoutMs);
    req.on('error', (e) => done(false, e.message));
    req.end();
  });
}
