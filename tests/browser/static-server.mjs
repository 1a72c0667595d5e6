// A shop's own web server, for pages of another origin than the gateway's: serves pages/ on
// each loopback port given (each port is an origin of its own). `?gw=http://127.0.0.1:PORT`
// names the gateway the page loads the badge script from.
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';

const pages = new URL('./pages/', import.meta.url);
const ports = process.argv.slice(2).map(Number);

async function answer(request, response) {
  const url = new URL(request.url, 'http://127.0.0.1');
  const name = url.pathname.slice(1) || 'index.html';
  const gateway = url.searchParams.get('gw') || '';
  // Only our own page names and a loopback gateway: nothing else is spliced into a page.
  if (!/^[a-z-]+\.html$/.test(name) || !/^http:\/\/127\.0\.0\.1:\d+$/.test(gateway)) {
    response.writeHead(404).end();
    return;
  }
  try {
    const text = await readFile(new URL(name, pages), 'utf8');
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    response.end(text.replaceAll('%GATEWAY%', gateway));
  } catch {
    response.writeHead(404).end();
  }
}

for (const port of ports) {
  createServer((request, response) => void answer(request, response)).listen(port, '127.0.0.1', () =>
    console.log(`static pages on http://127.0.0.1:${port}/`),
  );
}
