import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileTemplate, MAX_OUTPUT, parseKeyValueLines, TemplateError } from './index.js';

const data = {
  pci: {
    device: [
      { vendor: '8086', class: '0200', device: '1521' },
      { vendor: '10de', class: '0300', device: '20b0' },
    ],
  },
  kernel: {
    loadedmodule: [{ Name: 'e1000e' }, { Name: 'veth' }],
    version: [
      { Name: 'major', Value: '5' },
      { Name: 'minor', Value: '14' },
    ],
  },
};

/** [template, expected output] */
const renders: [string, string][] = [
  ['plain text', 'plain text'],
  ['{{ range .kernel.loadedmodule }}{{ .Name }}={{ end }}', 'e1000e=veth='],
  ['{{ range .kernel.version }}{{ .Name }}={{ .Value }}\n{{ end }}', 'major=5\nminor=14\n'],
  [
    '{{ range .pci.device }}pci-{{ .vendor }}-{{ .device }}=true\n{{ end }}',
    'pci-8086-1521=true\npci-10de-20b0=true\n',
  ],
  ['{{ range $i, $d := .pci.device }}{{ $i }}:{{ $d.vendor }} {{ end }}', '0:8086 1:10de '],
  ['{{ range $d := .pci.device }}{{ $d.class }}{{ end }}', '02000300'],
  ['{{ if eq (len .pci.device) 2 }}two{{ else }}other{{ end }}', 'two'],
  [
    '{{ if gt (len .pci.device) 5 }}many{{ else if gt (len .pci.device) 1 }}some{{ else }}one{{ end }}',
    'some',
  ],
  ['{{ if not .kernel.loadedmodule }}none{{ else }}some{{ end }}', 'some'],
  ['{{ with .kernel }}{{ len .version }}{{ end }}', '2'],
  ['{{ with $x := "v" }}{{ $x }}{{ . }}{{ end }}', 'vv'],
  ['{{ range .missing_is_error_only_for_maps_so_use_list }}{{ end }}', 'ERROR'],
  ['{{ range list }}x{{ else }}empty{{ end }}', 'empty'],
  [
    '{{ range $i, $e := list "a" "b" "c" }}{{ if eq $i 1 }}{{ continue }}{{ end }}{{ $e }}{{ end }}',
    'ac',
  ],
  ['{{ range list "a" "b" "c" }}{{ if eq . "b" }}{{ break }}{{ end }}{{ . }}{{ end }}', 'a'],
  ['{{ range $k, $v := dict "b" 2 "a" 1 }}{{ $k }}{{ $v }}{{ end }}', 'a1b2'],
  ['{{ range 3 }}{{ . }}{{ end }}', '012'],
  ['{{- " trimmed " -}}  \n  x', ' trimmed x'],
  ['a  {{- /* a comment */ -}}  b', 'ab'],
  ['{{/* comment */}}c', 'c'],
  ['{{ $x := 1 }}{{ $x = 2 }}{{ $x }}', '2'],
  ['{{ "a" | upper | printf "%s-%s" "b" }}', 'b-A'],
  [
    '{{ printf "%d|%5s|%-3s|%03d|%q|%v|%x|%t|%%" 42 "ab" "c" 7 "q" 1.5 255 true }}',
    '42|   ab|c  |007|"q"|1.5|ff|true|%',
  ],
  ['{{ print "a" 1 2 "b" }}', 'a1 2b'],
  ['{{ and 1 0 2 }} {{ or 0 "" "x" }} {{ and 1 2 }} {{ or 0 false }}', '0 x 2 false'],
  [
    '{{ eq "a" "b" "a" }} {{ ne 1 2 }} {{ lt 1 2 }} {{ le 2 2 }} {{ ge "b" "a" }}',
    'true true true true true',
  ],
  ['{{ index .pci.device 1 "vendor" }}', '10de'],
  ['{{ index (dict "a" "b") "zz" }}', '<no value>'],
  ['{{ slice (list 1 2 3) 1 }} {{ slice "abcdef" 1 3 }}', '[2 3] bc'],
  ['{{ (index .pci.device 0).class }}', '0200'],
  ['{{ .kernel.version }}', '[map[Name:major Value:5] map[Name:minor Value:14]]'],
  ['{{ nil }}', '<no value>'],
  ['{{ `raw\\n` }}', 'raw\\n'],
  ['{{ "esc\\tx" }}', 'esc\tx'],
  ['{{ 0x10 }} {{ -3 }} {{ 1.5 }} {{ 1e3 }}', '16 -3 1.5 1000'],
  // Sprig
  [
    '{{ trim "  x " }}|{{ trimAll "$" "$5.00$" }}|{{ trimPrefix "pre-" "pre-x" }}|{{ trimSuffix ".ko" "a.ko" }}',
    'x|5.00|x|a',
  ],
  [
    '{{ upper "ab" }}{{ lower "CD" }} {{ title "hello world" }} {{ repeat 3 "ab" }}',
    'ABcd Hello World ababab',
  ],
  [
    '{{ substr 1 3 "hello" }} {{ trunc 2 "hello" }} {{ trunc -2 "hello" }} {{ nospace "a b c" }}',
    'el he lo abc',
  ],
  [
    '{{ contains "ell" "hello" }} {{ hasPrefix "he" "hello" }} {{ hasSuffix "lo" "hello" }}',
    'true true true',
  ],
  [
    '{{ quote "a" "b" }} {{ squote "c" }} {{ cat "a" 1 "b" }} {{ replace "-" "_" "a-b-c" }}',
    '"a" "b" \'c\' a 1 b a_b_c',
  ],
  ['{{ splitList "." "5.14.0" | join "-" }} {{ (split "." "5.14.0")._1 }}', '5-14-0 14'],
  [
    '{{ list "b" "a" "c" | sortAlpha }} {{ list 1 1 2 | uniq }} {{ first (list 1 2) }} {{ last (list 1 2) }}',
    '[a b c] [1 2] 1 2',
  ],
  [
    '{{ has 2 (list 1 2) }} {{ without (list 1 2 3) 2 }} {{ rest (list 1 2 3) }} {{ initial (list 1 2 3) }}',
    'true [1 3] [2 3] [1 2]',
  ],
  [
    '{{ append (list 1) 2 }} {{ prepend (list 1) 0 }} {{ concat (list 1) (list 2 3) }} {{ reverse (list 1 2) }}',
    '[1 2] [0 1] [1 2 3] [2 1]',
  ],
  ['{{ until 3 }} {{ compact (list 0 1 "" "a") }}', '[0 1 2] [1 a]'],
  [
    '{{ atoi "42" | add 1 }} {{ add 1 2 3 }} {{ sub 5 2 }} {{ mul 2 3 }} {{ div 7 2 }} {{ mod 7 2 }} {{ max 1 5 3 }} {{ min 4 2 }}',
    '43 6 3 6 3 1 5 2',
  ],
  ['{{ add1 "4" }} {{ int "12" }} {{ float64 "1.5" }} {{ toString 3 }}', '5 12 1.5 3'],
  [
    '{{ default "d" "" }} {{ default "d" "x" }} {{ empty "" }} {{ coalesce "" "y" }} {{ ternary "a" "b" false }}',
    'd x true y b',
  ],
  [
    '{{ $d := dict "a" "1" "b" "2" }}{{ get $d "a" }} {{ hasKey $d "b" }} {{ keys $d | sortAlpha }} {{ pick $d "a" }} {{ omit $d "a" }}',
    '1 true [a b] map[a:1] map[b:2]',
  ],
  [
    '{{ regexMatch "^e1000" "e1000e" }} {{ regexFind "[0-9]+" "abc123def" }} {{ regexReplaceAll "a(x*)b" "-ab-axxb-" "${1}W" }} {{ regexReplaceAll "a(x*)b" "-ab-axxb-" "$1W" }} {{ regexReplaceAll "a(?P<x>x*)b" "axb" "[$x$$]" }}',
    'true 123 -W-xxW- --- [x$]',
  ],
  [
    '{{ regexFindAll "[0-9]" "a1b2c3" 2 }} {{ regexSplit "," "a,b,c" -1 }} {{ regexReplaceAllLiteral "a" "aa" "$1" }}',
    '[1 2] [a b c] $1$1',
  ],
  [
    '{{ b64enc "hi" }} {{ b64dec "aGk=" }} {{ toJson (dict "a" (list 1)) }} {{ sha256sum "" | trunc 8 }}',
    'aGk= hi {"a":[1]} e3b0c442',
  ],
];

describe('template rendering', () => {
  for (const [src, want] of renders) {
    it(src, () => {
      const t = compileTemplate(src);
      if (want === 'ERROR') assert.throws(() => t.render(data), TemplateError);
      else assert.equal(t.render(data), want);
    });
  }
});

/** Templates that fail, at parse time or when run; [template, message fragment]. */
const failures: [string, RegExp][] = [
  ['{{ .pci.nosuch }}', /map has no entry for key "nosuch"/],
  ['{{ range .pci.device }}{{ .subsystem }}{{ end }}', /no entry for key "subsystem"/],
  ['{{ .kernel.version.Name }}', /can't evaluate field Name in type list/],
  ['{{ nosuchfunc 1 }}', /function "nosuchfunc" not defined/],
  ['{{ $undefined }}', /undefined variable/],
  ['{{ if 1 }}unclosed', /missing \{\{end\}\}/],
  ['{{ end }}', /unexpected \{\{end\}\}/],
  ['{{ else }}', /unexpected \{\{else\}\}/],
  ['{{ break }}', /outside \{\{range\}\}/],
  ['{{ "unterminated }}', /unterminated|unclosed/],
  ['{{ (1 }}', /unclosed left paren/],
  ['{{ define "x" }}{{ end }}', /not supported/],
  ['{{ template "x" }}', /not supported/],
  ['{{ 1 2 }}', /non-function/],
  ['{{ eq "a" 1 }}', /incompatible types/],
  ['{{ lt true false }}', /invalid type for comparison/],
  ['{{ div 1 0 }}', /divide by zero/],
  ['{{ fail "stop here" }}', /stop here/],
  ['{{ regexMatch "(" "x" }}', /invalid regular expression/],
  ['{{ range 1000000 }}x{{ end }}', /steps|exceeds/],
  ['{{ repeat 100000 "ab" }}', /too large/],
  ['{{ range until 60000 }}0123456789{{ end }}', /exceeds/],
  ['{{ index (list 1) 5 }}', /out of range/],
  ['{{ not }}', /wrong number of args/],
  ['{{', /unclosed action/],
];

describe('template failures', () => {
  for (const [src, re] of failures) {
    it(`${src} fails with ${re}`, () => {
      assert.throws(
        () => compileTemplate(src).render(data),
        (e: unknown) => e instanceof TemplateError && re.test(e.message),
      );
    });
  }

  it('caps the output at 64 KiB', () => {
    assert.equal(MAX_OUTPUT, 65536);
    const ok = compileTemplate(`{{ repeat ${MAX_OUTPUT} "a" }}`).render({});
    assert.equal(ok.length, MAX_OUTPUT);
    assert.throws(() => compileTemplate(`{{ repeat ${MAX_OUTPUT} "a" }}b`).render({}), /exceeds/);
  });
});

describe('key=value output', () => {
  it('reads lines, trims them, skips blank ones; later lines win; values may hold =', () => {
    assert.deepEqual(parseKeyValueLines('  a=1 \n\n b = 2\nc=x=y\na=3\n'), {
      a: '3',
      'b ': ' 2',
      c: 'x=y',
    });
  });
  it('rejects a line without =', () => {
    assert.throws(() => parseKeyValueLines('a=1\nnovalue\n'), /"novalue".*key=value/);
  });
  it('expandMap renders and reads', () => {
    const t = compileTemplate('{{ range .kernel.loadedmodule }}mod-{{ .Name }}=loaded\n{{ end }}');
    assert.deepEqual(t.expandMap(data), { 'mod-e1000e': 'loaded', 'mod-veth': 'loaded' });
  });
});
