/**
 * The dashboard page: plain DOM, no framework. Every view asks the server for what it shows
 * (bounded pages) and asks again when the event stream says one of its kinds changed. All
 * text goes in with textContent: nothing from the cluster is parsed as HTML.
 */
import type {
  ChangeNotice,
  ModuleRow,
  NodeDetail,
  NodeRow,
  Page,
  PreflightRow,
  RolloutSeries,
  RuleRow,
  Summary,
  TopologyRow,
} from '../types.js';

type Child = Node | string | number | null | undefined | false;

function h(tag: string, attrs: Record<string, string> = {}, ...children: Child[]): HTMLElement {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.append(typeof c === 'object' ? c : String(c));
  }
  return el;
}

const SVG = 'http://www.w3.org/2000/svg';
function s(tag: string, attrs: Record<string, string | number> = {}, text?: string): SVGElement {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

async function get<T>(path: string): Promise<T> {
  const r = await fetch(path, { headers: { Accept: 'application/json' } });
  if (!r.ok) {
    const body = (await r.json().catch(() => ({}))) as { error?: string };
    throw new Error(body.error ?? `${r.status} ${r.statusText}`);
  }
  return (await r.json()) as T;
}

const $ = (id: string) => document.getElementById(id)!;
const main = () => $('main');

// ---------------------------------------------------------------------------------------------
// Summary and routing

async function refreshSummary(): Promise<void> {
  const sm = await get<Summary>('/api/summary');
  const set = (id: string, v: number | string | undefined) =>
    ($(`count-${id}`).textContent = v === undefined ? '–' : String(v));
  set('nodes', sm.nodes);
  set('ready', sm.ready);
  set('nodefeatures', sm.nodeFeatures);
  set('rules', sm.rules);
  set('modules', sm.modules);
  set('preflights', sm.preflights);
  set('topologies', sm.topologies);
  $('hidden').textContent = sm.hidden.length ? `not shown to you: ${sm.hidden.join(', ')}` : '';
  kernels = sm.kernels;
}

let kernels: Summary['kernels'] = [];

interface View {
  /** Kinds whose change makes the view fetch again. */
  kinds: string[];
  render(): Promise<void>;
  /** Fetch again after a change; default render(). */
  refresh?(): Promise<void>;
}

let current: View | undefined;

function route(): View {
  const hash = decodeURIComponent(location.hash.slice(1));
  document.querySelectorAll('nav a').forEach((a) => {
    a.classList.toggle('on', hash.startsWith(a.getAttribute('href')!.slice(1)));
  });
  if (hash.startsWith('node/')) return nodeView(hash.slice(5));
  switch (hash) {
    case 'rules':
      return rulesView();
    case 'modules':
      return modulesView();
    case 'preflight':
      return preflightView();
    case 'topology':
      return topologyView();
    default:
      return nodesView();
  }
}

async function show(): Promise<void> {
  current = route();
  main().replaceChildren(h('p', { class: 'muted' }, 'loading…'));
  await run(() => current!.render());
}

async function run(f: () => Promise<void>): Promise<void> {
  try {
    await f();
    $('error').textContent = '';
  } catch (e) {
    $('error').textContent = (e as Error).message;
  }
}

// ---------------------------------------------------------------------------------------------
// Nodes: a virtualised table over pages fetched as they scroll into view

const ROW_H = 28;
const PAGE = 200;

function nodesView(): View {
  let q = '';
  let total = 0;
  const pages = new Map<number, NodeRow[] | Promise<void>>();
  const search = h('input', {
    id: 'search',
    type: 'search',
    placeholder: 'search: name, kernel, label=value…',
  }) as HTMLInputElement;
  const count = h('span', { id: 'nodes-total' });
  const plot = h('div', { class: 'plot', id: 'kernel-plot' });
  const viewport = h('div', { class: 'viewport', id: 'node-table' });
  const spacer = h('div', { class: 'spacer' });
  const rows = h('div', { class: 'rows' });
  viewport.append(spacer, rows);
  const header = h(
    'div',
    { class: 'row head' },
    ...['node', 'ready', 'kernel', 'cpu', 'kernel', 'pci', 'usb', 'custom', 'modules'].map((t) =>
      h('span', {}, t),
    ),
  );

  const fetchPage = (i: number) => {
    if (pages.has(i)) return;
    const p = get<Page<NodeRow>>(
      `/api/nodes?offset=${i * PAGE}&limit=${PAGE}&q=${encodeURIComponent(q)}`,
    ).then((r) => {
      pages.set(i, r.items);
      if (r.total !== total) {
        total = r.total;
        layout();
      }
      paint();
    });
    pages.set(i, p);
  };

  const layout = () => {
    spacer.style.height = `${total * ROW_H}px`;
    count.textContent = String(total);
  };

  const paint = () => {
    const first = Math.floor(viewport.scrollTop / ROW_H);
    const n = Math.ceil(viewport.clientHeight / ROW_H) + 2;
    const out: HTMLElement[] = [];
    for (let i = first; i < Math.min(first + n, total); i++) {
      const pg = pages.get(Math.floor(i / PAGE));
      const r = Array.isArray(pg) ? pg[i % PAGE] : undefined;
      if (!Array.isArray(pg)) fetchPage(Math.floor(i / PAGE));
      const el = r ? nodeRowEl(r) : h('div', { class: 'row' }, h('span', {}, '…'));
      el.style.top = `${i * ROW_H}px`;
      out.push(el);
    }
    rows.replaceChildren(...out);
  };

  const reload = async () => {
    pages.clear();
    const r = await get<Page<NodeRow>>(
      `/api/nodes?offset=${Math.floor(viewport.scrollTop / ROW_H / PAGE) * PAGE}&limit=${PAGE}&q=${encodeURIComponent(q)}`,
    );
    total = r.total;
    pages.set(r.offset / PAGE, r.items);
    layout();
    paint();
  };

  let typing: number | undefined;
  search.addEventListener('input', () => {
    clearTimeout(typing);
    typing = window.setTimeout(() => {
      q = search.value.trim();
      viewport.scrollTop = 0;
      void run(reload);
    }, 200);
  });
  viewport.addEventListener('scroll', paint, { passive: true });

  return {
    kinds: ['nodes', 'nodefeatures', 'nodemodulesconfigs'],
    async render() {
      main().replaceChildren(
        h('h2', {}, 'Kernel versions across nodes'),
        plot,
        h('div', { class: 'bar' }, search, ' nodes shown: ', count),
        header,
        viewport,
      );
      kernelPlot(plot, (k) => {
        search.value = k;
        search.dispatchEvent(new Event('input'));
      });
      await reload();
    },
    async refresh() {
      kernelPlot(plot, (k) => {
        search.value = k;
        search.dispatchEvent(new Event('input'));
      });
      await reload();
    },
  };
}

function nodeRowEl(r: NodeRow): HTMLElement {
  const link = h('a', { href: `#node/${encodeURIComponent(r.name)}` }, r.name);
  return h(
    'div',
    { class: 'row', 'data-node': r.name },
    h('span', {}, link),
    h('span', { class: r.ready ? 'ok' : 'bad' }, r.ready ? 'Ready' : 'NotReady'),
    h('span', { title: r.os }, r.kernel),
    h('span', {}, r.features.cpu),
    h('span', {}, r.features.kernel),
    h('span', { title: r.pciVendors.join(' ') }, r.features.pci),
    h('span', { title: r.usbVendors.join(' ') }, r.features.usb),
    h('span', { class: 'custom', title: r.custom.join('\n') }, r.custom.join(' ')),
    h(
      'span',
      {},
      `${r.modulesLoaded} loaded`,
      r.modulesFailed ? h('b', { class: 'bad' }, ` ${r.modulesFailed} failed`) : '',
    ),
  );
}

/** Bars of nodes per kernel; a click filters the table by that kernel. */
function kernelPlot(el: HTMLElement, pick: (k: string) => void): void {
  const W = 900;
  const barH = 18;
  const max = Math.max(1, ...kernels.map((k) => k.nodes));
  const svg = s('svg', {
    viewBox: `0 0 ${W} ${kernels.length * barH + 4}`,
    width: '100%',
    role: 'img',
    'aria-label': 'nodes per kernel version',
  });
  kernels.forEach((k, i) => {
    const y = i * barH + 2;
    const w = Math.max(2, ((W - 380) * k.nodes) / max);
    const g = s('g', { class: 'kbar', 'data-kernel': k.kernel });
    g.append(
      s('text', { x: 300, y: y + 13, 'text-anchor': 'end' }, k.kernel),
      s('rect', { x: 310, y, width: w, height: barH - 4 }),
      s('text', { x: 316 + w, y: y + 13 }, String(k.nodes)),
    );
    if (k.kernel !== 'other') g.addEventListener('click', () => pick(k.kernel));
    svg.append(g);
  });
  el.replaceChildren(svg);
}

function nodeView(name: string): View {
  return {
    kinds: ['nodes', 'nodefeatures', 'nodefeaturerules', 'modules', 'nodemodulesconfigs'],
    async render() {
      const d = await get<NodeDetail>(`/api/nodes/${encodeURIComponent(name)}`);
      const groups = Object.entries(d.groups).filter(([, l]) => l.length);
      main().replaceChildren(
        h('h2', {}, `Node ${d.row.name}`),
        h(
          'p',
          {},
          h('span', { class: d.row.ready ? 'ok' : 'bad' }, d.row.ready ? 'Ready' : 'NotReady'),
          ` · kernel ${d.row.kernel} · ${d.row.os}`,
        ),
        h('h3', {}, 'Modules'),
        d.modules.length
          ? table(
              ['module', 'state', 'reason'],
              d.modules.map((m) => [`${m.namespace}/${m.name}`, m.state, m.reason ?? '']),
              'node-modules',
            )
          : h('p', { class: 'muted' }, 'no Module selects this node'),
        h('h3', {}, 'Rules that matched'),
        d.rules.length
          ? table(
              ['NodeFeatureRule', 'rule', 'added', 'error'],
              d.rules.map((r) => [
                r.object,
                r.rule,
                Object.entries(r.labels)
                  .map(([k, v]) => `${k}=${v}`)
                  .join(' '),
                r.error ?? '',
              ]),
              'node-rules',
            )
          : h('p', { class: 'muted' }, 'no rule matched'),
        h('h3', {}, 'Feature labels'),
        ...groups.map(([g, labels]) =>
          h(
            'details',
            { open: '' },
            h('summary', {}, `${g} (${labels.length})`),
            h('pre', {}, labels.map(([k, v]) => `${k}=${v}`).join('\n')),
          ),
        ),
        h('h3', {}, 'NodeFeature'),
        d.nodeFeatures.length
          ? h(
              'pre',
              { id: 'raw-nodefeature', class: 'raw' },
              JSON.stringify(d.nodeFeatures, null, 2),
            )
          : h('p', { class: 'muted' }, 'no NodeFeature for this node'),
      );
    },
  };
}

function table(head: string[], rows: Child[][], id?: string): HTMLElement {
  return h(
    'table',
    id ? { id } : {},
    h('thead', {}, h('tr', {}, ...head.map((t) => h('th', {}, t)))),
    h('tbody', {}, ...rows.map((r) => h('tr', {}, ...r.map((c) => h('td', {}, c))))),
  );
}

// ---------------------------------------------------------------------------------------------
// Rules, Modules, Preflight, Topology

function rulesView(): View {
  return {
    kinds: ['nodefeaturerules', 'nodefeatures'],
    async render() {
      const p = await get<Page<RuleRow>>('/api/rules?limit=500');
      const body = p.items.map((r) =>
        h(
          'tr',
          { 'data-rule': r.name },
          h('td', {}, r.name),
          h('td', {}, r.rules),
          h('td', { class: 'matched' }, r.nodesMatched),
          h('td', {}, r.perRule.map((x) => `${x.rule}: ${x.nodes}`).join(', ')),
          h('td', {}, r.labels.join(' ')),
          h(
            'td',
            { class: r.errors.length ? 'bad errors' : 'errors' },
            r.errors.map((e) => `${e.rule}: ${e.message} (${e.nodes} nodes)`).join('\n'),
          ),
        ),
      );
      main().replaceChildren(
        h('h2', {}, `NodeFeatureRules (${p.total})`),
        h(
          'table',
          { id: 'rules' },
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              ...['name', 'rules', 'nodes matched', 'per rule', 'labels', 'errors'].map((t) =>
                h('th', {}, t),
              ),
            ),
          ),
          h('tbody', {}, ...body),
        ),
      );
    },
  };
}

function modulesView(): View {
  return {
    kinds: ['modules', 'nodes', 'nodemodulesconfigs', 'moduleimagesconfigs'],
    async render() {
      const [p, series] = await Promise.all([
        get<Page<ModuleRow>>('/api/modules?limit=500'),
        get<RolloutSeries[]>('/api/rollout'),
      ]);
      main().replaceChildren(
        h('h2', {}, `Modules (${p.total})`),
        h('h3', {}, 'Rollout over time (nodes loaded)'),
        rolloutPlot(series),
        ...p.items.map(moduleCard),
      );
    },
  };
}

function moduleCard(m: ModuleRow): HTMLElement {
  const pct = m.matched ? Math.round((100 * m.loaded) / m.matched) : 0;
  return h(
    'section',
    { class: 'card', 'data-module': `${m.namespace}/${m.name}` },
    h('h3', {}, `${m.namespace}/${m.name}`),
    h('p', { class: 'muted' }, `selector ${m.selector || '(all nodes)'}`),
    h('div', { class: 'progress', title: `${pct}%` }, h('div', { style: `width:${pct}%` })),
    h(
      'p',
      {},
      h('b', { class: 'matched' }, m.matched),
      ' nodes · ',
      h('b', { class: 'loaded ok' }, m.loaded),
      ' loaded · ',
      h('b', { class: 'pending' }, m.pending),
      ' pending · ',
      h('b', { class: m.failed ? 'failed bad' : 'failed' }, m.failed),
      ' failed',
      m.devicePlugin
        ? h(
            'span',
            { class: 'device-plugin' },
            ` · device plugin ${m.devicePlugin.available}/${m.devicePlugin.desired} ready`,
          )
        : '',
    ),
    m.conditions.length
      ? h(
          'p',
          { class: 'conditions' },
          m.conditions
            .map((c) => `${c.type}=${c.status}${c.reason ? ` (${c.reason})` : ''}`)
            .join(' · '),
        )
      : '',
    table(
      ['kernel', 'nodes', 'mapping', 'image', 'state', 'reason'],
      m.kernels.map((k) => [
        k.kernel,
        k.nodes,
        k.mappingIndex === undefined ? '' : `#${k.mappingIndex}`,
        k.image ?? '',
        h('span', { class: `state ${k.state.replace(' ', '-')}` }, k.state),
        k.reason ?? '',
      ]),
    ),
    m.versions.length
      ? table(
          ['version (ordered upgrade)', 'nodes told', 'nodes running'],
          m.versions.map((v) => [v.version, v.target, v.loaded]),
        )
      : '',
    m.failures.length
      ? h(
          'details',
          { open: '' },
          h('summary', { class: 'bad' }, `failed on ${m.failed} nodes`),
          table(
            ['node', 'reason'],
            m.failures.map((f) => [f.node, f.reason]),
          ),
        )
      : '',
    m.pendingNodes.length
      ? h(
          'details',
          {},
          h('summary', {}, `pending on ${m.pending} nodes`),
          table(
            ['node', 'reason'],
            m.pendingNodes.map((f) => [f.node, f.reason]),
          ),
        )
      : '',
  );
}

const COLOURS = ['#2b6cb0', '#2f855a', '#c05621', '#6b46c1', '#b83280', '#2c7a7b'];

/** Nodes loaded over time, one line per Module, against a shared time axis. */
function rolloutPlot(series: RolloutSeries[]): HTMLElement {
  const W = 900;
  const H = 180;
  const pad = 40;
  const right = 180; // room for the Modules' names
  const wrap = h('div', { class: 'plot', id: 'rollout-plot' });
  const pts = series.flatMap((x) => x.points);
  if (!pts.length) return h('p', { class: 'muted' }, 'no samples yet');
  const now = Date.now();
  const t0 = Math.min(...pts.map((p) => p[0]));
  const t1 = Math.max(now, t0 + 1000);
  const max = Math.max(1, ...pts.map((p) => p[2]));
  const x = (t: number) => pad + ((W - pad - right) * (t - t0)) / (t1 - t0);
  const y = (v: number) => H - pad / 2 - ((H - pad) * v) / max;
  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, width: '100%', role: 'img' });
  svg.append(
    s('line', { x1: pad, y1: y(0), x2: W - right, y2: y(0), class: 'axis' }),
    s('line', { x1: pad, y1: y(0), x2: pad, y2: y(max), class: 'axis' }),
    s('text', { x: pad - 4, y: y(max) + 4, 'text-anchor': 'end' }, String(max)),
    s('text', { x: pad - 4, y: y(0) + 4, 'text-anchor': 'end' }, '0'),
    s('text', { x: W - right, y: H - 2, 'text-anchor': 'end' }, 'now'),
    s('text', { x: pad, y: H - 2 }, `${Math.round((now - t0) / 60000)} min ago`),
  );
  series.forEach((sr, i) => {
    const c = COLOURS[i % COLOURS.length]!;
    // Steps: a value holds until the next sample; the last one holds until now.
    let d = '';
    sr.points.forEach((p, j) => {
      d += `${j ? 'H' : 'M'}${x(p[0]).toFixed(1)} ${j ? `V${y(p[1]).toFixed(1)}` : y(p[1]).toFixed(1)}`;
    });
    const last = sr.points[sr.points.length - 1];
    if (last) d += `H${x(now).toFixed(1)}`;
    svg.append(
      s('path', { d, fill: 'none', stroke: c, 'stroke-width': 2, 'data-series': sr.module }),
      s('text', { x: W - right + 4, y: y(last?.[1] ?? 0) + 4 + 11 * i, fill: c }, sr.module),
    );
  });
  wrap.append(svg);
  return wrap;
}

function preflightView(): View {
  return {
    kinds: ['preflightvalidations', 'preflightvalidationsocp'],
    async render() {
      const p = await get<Page<PreflightRow>>('/api/preflight?limit=500');
      main().replaceChildren(
        h('h2', {}, `Preflight validations (${p.total})`),
        ...p.items.map((v) =>
          h(
            'section',
            { class: 'card', 'data-preflight': v.name },
            h('h3', {}, `${v.kind} ${v.name}`),
            h(
              'p',
              {},
              `kernel ${v.kernel} · `,
              h('b', { class: 'success ok' }, v.success),
              ' succeeded · ',
              h('b', { class: v.failure ? 'failure bad' : 'failure' }, v.failure),
              ' failed · ',
              h('b', { class: 'in-progress' }, v.inProgress),
              ' in progress',
            ),
            table(
              ['module', 'status', 'stage', 'reason'],
              v.modules.map((m) => [`${m.namespace}/${m.name}`, m.status, m.stage, m.reason ?? '']),
            ),
          ),
        ),
      );
    },
  };
}

function topologyView(): View {
  let offset = 0;
  const view: View = {
    kinds: ['noderesourcetopologies'],
    async render() {
      const p = await get<Page<TopologyRow>>(`/api/topology?offset=${offset}&limit=50`);
      const prev = h('button', {}, '◀ previous') as HTMLButtonElement;
      const next = h('button', {}, 'next ▶') as HTMLButtonElement;
      prev.disabled = offset === 0;
      next.disabled = offset + 50 >= p.total;
      prev.onclick = () => ((offset = Math.max(0, offset - 50)), void run(() => view.render()));
      next.onclick = () => ((offset += 50), void run(() => view.render()));
      main().replaceChildren(
        h('h2', {}, `NUMA topology (${p.total} nodes)`),
        h('div', { class: 'bar' }, prev, ` ${offset + 1}–${offset + p.items.length} `, next),
        ...p.items.map((t) =>
          h(
            'section',
            { class: 'card', 'data-topology': t.node },
            h('h3', {}, `${t.node} `, h('span', { class: 'muted' }, t.policy)),
            table(
              ['zone', 'type', 'resource', 'capacity', 'allocatable', 'available'],
              t.zones.flatMap((z) =>
                (z.resources.length ? z.resources : [undefined]).map((r) => [
                  z.name,
                  z.type,
                  r?.name ?? '',
                  r?.capacity ?? '',
                  r?.allocatable ?? '',
                  r?.available ?? '',
                ]),
              ),
            ),
          ),
        ),
      );
    },
  };
  return view;
}

// ---------------------------------------------------------------------------------------------
// Live updates

function listen(): void {
  const es = new EventSource('/api/events');
  es.onopen = () => ($('live').textContent = 'live');
  es.onerror = () => ($('live').textContent = 'reconnecting…');
  es.onmessage = (ev: MessageEvent<string>) => {
    const n = JSON.parse(ev.data) as ChangeNotice;
    void run(async () => {
      await refreshSummary();
      const v = current;
      if (v && n.kinds.some((k) => v.kinds.includes(k))) await (v.refresh ?? v.render).call(v);
      // The last notice whose changes the page shows (read by tests and the benchmark).
      document.body.dataset.seq = String(n.seq);
    });
  };
}

window.addEventListener('hashchange', () => void show());
void run(async () => {
  await refreshSummary();
  await show();
  listen();
  document.body.dataset.ready = 'true';
});
