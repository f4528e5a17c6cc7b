import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { analyzeSource, BufferSource, FileSource, type FormatAnalysis } from '../../../src/core/formats';
import { analyzePickle } from '../../../src/core/formats/pickle/analyze';
import { classifyGlobal } from '../../../src/core/formats/pickle/policy';
import { isBlocking, severityRank, type Finding } from '../../../src/core/formats/findings';
import { osSystemPickle, PickleAsm, plainDataPickle, torchStateDictPickle } from '../../fixtures/pickle/assembler';
import { everyOpcodePickle, protocol0DataPickle, protocol0OsSystem } from '../../fixtures/pickle/corpus';

async function analyze(bytes: Buffer, name = 'x.pkl'): Promise<FormatAnalysis> {
  return analyzeSource(new BufferSource(name, bytes, 0));
}

function rules(a: FormatAnalysis): string[] {
  return a.findings.map((f) => f.rule);
}

function find(a: FormatAnalysis, rule: string, text?: string): Finding {
  const f = a.findings.find((x) => x.rule === rule && (text === undefined || x.message.includes(text)));
  assert.ok(f, `expected ${rule}${text ? ` mentioning ${text}` : ''} in ${JSON.stringify(a.findings, null, 1)}`);
  return f;
}

function worst(a: FormatAnalysis): number {
  return Math.max(-1, ...a.findings.map((f) => severityRank(f.severity)));
}

function tensors(n: number) {
  return Array.from({ length: n }, (_, i) => ({ name: `layers.${i}.weight`, shape: [8, 4 + (i % 3)], storageKey: String(i) }));
}

describe('pickle walker: benign model pickles', () => {
  it('passes a torch-like state dict and lists its allowlisted globals', async () => {
    const a = await analyze(torchStateDictPickle(tensors(40)));
    assert.equal(a.format, 'pickle');
    assert.deepEqual(a.findings, []);
    assert.deepEqual((a.facts.globals as string[]).sort(), ['collections.OrderedDict', 'torch.FloatStorage', 'torch._utils._rebuild_tensor_v2']);
    const summary = a.facts.summary as Record<string, unknown>;
    assert.equal(summary.protocol, '2');
    assert.equal(summary.torchStorages, 40);
    assert.equal(a.facts.pickles, 1);
    assert.ok((a.facts.calls as number) >= 80);
  });

  it('walks every opcode of protocols 0-5 without a parse error', async () => {
    const a = await analyze(everyOpcodePickle());
    assert.equal(a.facts.complete, true);
    assert.ok(!rules(a).includes('pickle/parse-error'), JSON.stringify(a.findings));
    // Only the loader-dependent features are noted: a string persistent id and an out-of-band buffer.
    assert.ok(a.findings.every((f) => severityRank(f.severity) <= severityRank('medium')), JSON.stringify(a.findings));
    assert.deepEqual(a.facts.protocols, [5]);
    assert.ok((a.facts.opcodes as number) > 100);
  });

  it('passes plain data and protocol 0 text pickles', async () => {
    for (const bytes of [plainDataPickle(), protocol0DataPickle()]) {
      const a = await analyze(bytes);
      assert.equal(a.format, 'pickle');
      assert.deepEqual(a.findings, []);
    }
  });

  it('reads the same findings through a file in chunks as from memory (payloads and strings across chunk edges)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sov-pickle-'));
    try {
      const asm = new PickleAsm().proto(4).emptyList().mark();
      // ~3.5 MB: big payloads crossing 1 MiB read boundaries, then many small strings, then a gadget at the end.
      for (let i = 0; i < 3; i++) asm.binbytes(Buffer.alloc(1_100_000 + i * 7, i));
      for (let i = 0; i < 20_000; i++) asm.shortBinunicode(`key-${i}`).memoize();
      asm.appends().pop().stackGlobalOf('subprocess', 'Popen').binunicode('id').tuple1().reduce().stop();
      const bytes = asm.bytes();
      const path = join(dir, 'big.pkl');
      await writeFile(path, bytes);
      const file = await FileSource.open(path);
      try {
        const fromFile = await analyzeSource(file);
        const fromMemory = await analyze(bytes, path);
        assert.deepEqual(fromFile.findings, fromMemory.findings);
        assert.equal(fromFile.facts.opcodes, fromMemory.facts.opcodes);
        find(fromFile, 'pickle/dangerous-global', 'subprocess.Popen');
      } finally {
        await file.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('pickle walker: import and call bypass families', () => {
  it('GLOBAL + REDUCE: os.system is critical and the finding names global and offsets', async () => {
    const a = await analyze(osSystemPickle());
    const f = find(a, 'pickle/dangerous-global', 'os.system');
    assert.equal(f.severity, 'critical');
    assert.match(f.location ?? '', /@ offset 2$/);
    assert.match(f.message, /REDUCE at offset \d+/);
  });

  it('STACK_GLOBAL with operands stored by BINPUT and fetched by BINGET', async () => {
    const bytes = new PickleAsm().proto(4)
      .shortBinunicode('posix').binput(0).pop()
      .shortBinunicode('system').binput(1).pop()
      .binget(0).binget(1).stackGlobal().binunicode('id').tuple1().reduce().stop().bytes();
    const f = find(await analyze(bytes), 'pickle/dangerous-global', 'posix.system');
    assert.equal(f.severity, 'critical');
  });

  it('STACK_GLOBAL with operands stored by MEMOIZE and fetched by LONG_BINGET', async () => {
    const bytes = new PickleAsm().proto(4).frame(0)
      .shortBinunicode('builtins').memoize().pop()
      .shortBinunicode('exec').memoize().pop()
      .longBinget(0).longBinget(1).stackGlobal().binunicode('print(1)').tuple1().reduce().stop().bytes();
    assert.equal(find(await analyze(bytes), 'pickle/dangerous-global', 'builtins.exec').severity, 'critical');
  });

  it('STACK_GLOBAL with a non-string operand is unresolvable: critical', async () => {
    const bytes = new PickleAsm().proto(4).binint1(7).shortBinunicode('system').stackGlobal().binunicode('id').tuple1().reduce().stop().bytes();
    const a = await analyze(bytes);
    assert.equal(find(a, 'pickle/unresolved-global').severity, 'critical');
    assert.equal(find(a, 'pickle/unresolved-call').severity, 'critical');
  });

  it('STACK_GLOBAL with a module name computed by a call is unresolvable: critical', async () => {
    // module = _codecs.encode('os', 'latin1') -> bytes at load time; the scanner must not guess.
    const bytes = new PickleAsm().proto(4)
      .global('_codecs', 'encode').shortBinunicode('os').shortBinunicode('latin1').tuple2().reduce()
      .shortBinunicode('system').stackGlobal().stop().bytes();
    assert.equal(find(await analyze(bytes), 'pickle/unresolved-global').severity, 'critical');
  });

  it('INST imports and instantiates in one opcode', async () => {
    const bytes = new PickleAsm().mark().string0('id').inst('subprocess', 'check_output').stop().bytes();
    const f = find(await analyze(bytes), 'pickle/dangerous-global', 'subprocess.check_output');
    assert.match(f.message, /INST at offset 7/); // after MARK and the STRING argument
  });

  it('OBJ, NEWOBJ and NEWOBJ_EX instantiate classes outside the allowlist: high', async () => {
    const obj = new PickleAsm().proto(2).mark().global('mypkg.models', 'Net').binint1(1).obj().stop().bytes();
    const newobj = new PickleAsm().proto(2).global('mypkg.models', 'Net').emptyTuple().newobj().stop().bytes();
    const newobjEx = new PickleAsm().proto(4).stackGlobalOf('mypkg.models', 'Net').emptyTuple().emptyDict().newobjEx().stop().bytes();
    for (const [bytes, op] of [[obj, 'OBJ'], [newobj, 'NEWOBJ'], [newobjEx, 'NEWOBJ_EX']] as const) {
      const f = find(await analyze(bytes), 'pickle/unsafe-call', 'mypkg.models.Net');
      assert.equal(f.severity, 'high');
      assert.match(f.message, new RegExp(`\\(${op} at offset`));
    }
  });

  it('a global outside the allowlist that is only referenced is medium', async () => {
    const bytes = new PickleAsm().proto(2).global('mypkg.consts', 'SCALE').tuple1().stop().bytes();
    const a = await analyze(bytes);
    assert.equal(find(a, 'pickle/unknown-global', 'mypkg.consts.SCALE').severity, 'medium');
    assert.ok(!isBlocking(a.findings[0].severity));
  });

  it('BUILD state that plants __setstate__ is critical and the planted function counts as called', async () => {
    const bytes = new PickleAsm().proto(2)
      .global('collections', 'OrderedDict').emptyTuple().reduce()
      .emptyDict().binunicode('__setstate__').global('mypkg.util', 'run').setitem().build()
      .binunicode('payload').build().stop().bytes();
    const a = await analyze(bytes);
    assert.equal(find(a, 'pickle/setstate-override', '__setstate__').severity, 'critical');
    assert.equal(find(a, 'pickle/unsafe-call', 'mypkg.util.run').severity, 'high');
  });

  it('BUILD and SETITEMS applied to an imported global (module state tampering) are high', async () => {
    const build = new PickleAsm().proto(2).global('torch', 'Size').emptyDict().binunicode('x').binint1(1).setitem().build().stop().bytes();
    assert.equal(find(await analyze(build), 'pickle/build-on-global', 'torch.Size').severity, 'high');
    const setitems = new PickleAsm().proto(2).global('mypkg', 'REGISTRY').mark().binunicode('k').binint1(1).setitems().stop().bytes();
    find(await analyze(setitems), 'pickle/mutates-global', 'mypkg.REGISTRY');
  });

  it('calling a computed value (not an imported global) is high', async () => {
    const bytes = new PickleAsm().proto(2)
      .global('collections', 'OrderedDict').emptyTuple().reduce() // an instance...
      .emptyTuple().reduce() // ...called
      .stop().bytes();
    assert.equal(find(await analyze(bytes), 'pickle/indirect-call').severity, 'high');
  });

  it('EXT1, EXT2 and EXT4 import from the extension registry: high, critical when called', async () => {
    for (const asm of [new PickleAsm().proto(2).ext1(1), new PickleAsm().proto(2).ext2(300), new PickleAsm().proto(2).ext4(70000)]) {
      const a = await analyze(asm.emptyTuple().reduce().stop().bytes());
      assert.equal(find(a, 'pickle/extension-code').severity, 'high');
      assert.equal(find(a, 'pickle/unresolved-call').severity, 'critical');
    }
  });

  it('protocol 0 text pickles with gadgets are caught', async () => {
    const a = await analyze(protocol0OsSystem());
    assert.equal(a.format, 'pickle');
    assert.equal(find(a, 'pickle/dangerous-global', 'os.system').severity, 'critical');
  });

  it('Python 2 module names are mapped before judging (__builtin__.eval is builtins.eval)', async () => {
    const a = await analyze(new PickleAsm().global('__builtin__', 'eval').mark().string0('1').tuple().reduce().stop().bytes());
    find(a, 'pickle/dangerous-global', 'builtins.eval');
  });

  it('dotted attribute paths through dunders are critical even from allowlisted roots', async () => {
    const bytes = new PickleAsm().proto(4).stackGlobalOf('collections', 'OrderedDict.__init__.__globals__').stop().bytes();
    find(await analyze(bytes), 'pickle/dangerous-global', 'collections.OrderedDict.__init__.__globals__');
  });

  it('a global inside a forwarding rebuild function counts as called', async () => {
    // torch._utils._rebuild_from_type_v2(func, cls, args, state) calls func: a gadget hidden in its arguments.
    const bytes = new PickleAsm().proto(2)
      .global('torch._utils', '_rebuild_from_type_v2')
      .global('mypkg', 'evil').global('torch', 'Tensor').emptyTuple().emptyDict().mark().tuple().pop()
      .tuple3().reduce().stop().bytes();
    const a = await analyze(bytes);
    assert.equal(find(a, 'pickle/unsafe-call', 'mypkg.evil').severity, 'high');
  });

  it('the policy: allowlist decides, denylist only raises severity', () => {
    for (const safe of ['torch._utils._rebuild_tensor_v2', 'torch.BFloat16Storage', 'torch.cuda.HalfStorage', 'torch.float16', 'collections.OrderedDict', 'numpy.core.multiarray._reconstruct', 'numpy._core.multiarray.scalar', 'numpy.dtype', '_codecs.encode', 'joblib.numpy_pickle.NumpyArrayWrapper', 'builtins.set', 'torch.serialization._get_layout']) {
      assert.equal(classifyGlobal(safe), 'safe', safe);
    }
    for (const bad of ['os.system', 'posix.system', 'nt.system', 'subprocess.run', 'builtins.getattr', 'builtins.__import__', 'importlib.import_module', 'runpy.run_path', 'marshal.loads', 'socket.socket', 'webbrowser.open', 'functools.partial', 'operator.attrgetter', 'operator.methodcaller', 'pty.spawn', 'shutil.rmtree', 'sys.modules', 'code.interact', 'ctypes.CDLL', 'pickle.loads', '_pickle.loads', 'torch.load', 'torch.utils.collect_env.run', 'picklescan.scanner.scan', 'modelscan.modelscan', 'fickling.load', 'asyncio.subprocess', 'multiprocessing.Process', 'urllib.request.urlopen', 'requests.get', 'http.client.HTTPConnection', 'numpy.testing._private.utils.runstring', 'torch.storage._load_from_bytes']) {
      assert.equal(classifyGlobal(bad), 'dangerous', bad);
    }
    for (const unknown of ['mypkg.Model', 'sklearn.linear_model.LogisticRegression', 'torch.nn.modules.linear.Linear', 'mypkg.ioutils.Reader', 're._compile']) {
      assert.equal(classifyGlobal(unknown), 'unknown', unknown);
    }
    // builtins is allowlist-only: a name outside the plain containers and value types is dangerous, even a made-up one.
    assert.equal(classifyGlobal('builtins.print2'), 'dangerous');
  });
});

describe('pickle walker: streams, errors and expansion', () => {
  it('scans every pickle in a stream: a benign one then a malicious one', async () => {
    const a = await analyze(Buffer.concat([plainDataPickle(), osSystemPickle()]));
    assert.equal(a.facts.pickles, 2);
    const f = find(a, 'pickle/dangerous-global', 'os.system');
    assert.match(f.location ?? '', new RegExp(`@ offset ${plainDataPickle().length + 2}$`));
  });

  it('trailing garbage after STOP is a high parse error', async () => {
    const a = await analyze(Buffer.concat([plainDataPickle(), Buffer.from('\x00\xffjunk', 'latin1')]));
    assert.equal(find(a, 'pickle/parse-error', 'invalid opcode').severity, 'high');
    assert.equal(a.facts.pickles, 1);
  });

  it('a truncated stream keeps what was found before the cut (fail closed)', async () => {
    const full = new PickleAsm().proto(2).global('os', 'system').binunicode('id').tuple1().reduce().binbytes(Buffer.alloc(100)).stop().bytes();
    const a = await analyze(full.subarray(0, full.length - 40));
    assert.equal(find(a, 'pickle/truncated').severity, 'high');
    assert.equal(find(a, 'pickle/dangerous-global', 'os.system').severity, 'critical');
    assert.equal(a.facts.complete, false);
  });

  it('a stream that stops without STOP is truncated; stack underflow is a parse error', async () => {
    find(await analyze(new PickleAsm().proto(2).emptyDict().bytes()), 'pickle/truncated');
    find(await analyze(new PickleAsm().proto(2).reduce().stop().bytes()), 'pickle/parse-error', 'empty stack');
    find(await analyze(new PickleAsm().proto(2).binget(3).stop().bytes()), 'pickle/parse-error', 'never stored');
    // A protocol 9 stream is not detected as a pickle at all; the walker itself refuses it.
    const proto9 = await analyzePickle(new BufferSource('x.pkl', new PickleAsm().proto(9).none().stop().bytes(), 0), {});
    find(proto9, 'pickle/parse-error', 'protocol 9');
  });

  it('flags reference expansion (many DUP/GET) and memo index abuse', async () => {
    const asm = new PickleAsm().proto(2).mark().emptyList().binput(0);
    for (let i = 0; i < 150_000; i++) asm.binget(0);
    const a = await analyze(asm.list().stop().bytes());
    assert.ok(severityRank(find(a, 'pickle/expansion').severity) >= severityRank('medium'));
    const memo = await analyze(new PickleAsm().proto(2).none().longBinput(0xfffffff0).stop().bytes());
    assert.equal(find(memo, 'pickle/memo-abuse').severity, 'high');
  });

  it('notes persistent ids that are not torch storages', async () => {
    const a = await analyze(new PickleAsm().proto(2).binunicode('anything').binpersid().stop().bytes());
    assert.equal(find(a, 'pickle/persistent-id').severity, 'medium');
    assert.equal(worst(a), severityRank('medium'));
  });

  it('reads a legacy (pre-1.6) torch.save file: five pickles then raw storage bytes', async () => {
    const magic = new PickleAsm().proto(2).long1(0x1950a86a20f9469cfc6cn).stop().bytes();
    const version = new PickleAsm().proto(2).binint2(1001).stop().bytes();
    const sysInfo = new PickleAsm().proto(2).emptyDict().binunicode('little_endian').newTrue().setitem().stop().bytes();
    const obj = torchStateDictPickle(tensors(2));
    const keys = new PickleAsm().proto(2).mark().binunicode('0').binunicode('1').list().stop().bytes();
    const storage = Buffer.alloc(8 + 32 * 4, 0xab);
    const a = await analyze(Buffer.concat([magic, version, sysInfo, obj, keys, storage, storage]));
    assert.deepEqual(a.findings, []);
    assert.equal(a.facts.pickles, 5);
    assert.equal(a.facts.legacyTorchStorageBytes, storage.length * 2);
  });
});
