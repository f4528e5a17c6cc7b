import assert from 'node:assert/strict';
import { analyzeSource, BufferSource, type FormatAnalysis } from '../../../src/core/formats';
import { isBlocking, type Finding } from '../../../src/core/formats/findings';
import { classifyGlobal, globalPath } from '../../../src/core/formats/pickle/policy';
import { osSystemPickle, PickleAsm, plainDataPickle, torchStateDictPickle } from '../../fixtures/pickle/assembler';
import {
  billionLaughsPickle, callPickle, everyOpcodePickle, numpyArrayPickle, protocol0DataPickle, tiedWeightsPickle, type ImportForm,
} from '../../fixtures/pickle/corpus';
import { joblibPickle, npyFile } from '../../fixtures/pickle/joblib-layout';
import { PEER_FAMILIES } from '../../fixtures/pickle/peer-rules';
import { torchZip } from '../../fixtures/zip/zip-writer';

/**
 * Coverage against the peer scanners (picklescan, modelscan, fickling): every module and callable family
 * they flag is flagged here, on pickles the suite writes, in every import spelling; their logic beyond
 * lists has a test each; and the benign files the suite writes give no finding at all.
 */

const analyze = (bytes: Buffer, name = 'model.pkl'): Promise<FormatAnalysis> => analyzeSource(new BufferSource(name, bytes, 0));

function find(a: FormatAnalysis, rule: string, text?: string): Finding {
  const f = a.findings.find((x) => x.rule === rule && (text === undefined || x.message.includes(text)));
  assert.ok(f, `expected ${rule}${text ? ` mentioning ${text}` : ''} in ${JSON.stringify(a.findings, null, 1)}`);
  return f;
}

const FORMS: ImportForm[] = ['protocol0-global', 'protocol2-global', 'protocol4-stack-global'];

describe('peer coverage: every family picklescan, modelscan and fickling flag is critical here', () => {
  let n = 0;
  for (const { family, globals } of PEER_FAMILIES) {
    it(`${family} (${globals.length} globals)`, async () => {
      for (const { module, name, by } of globals) {
        const path = globalPath(module, name);
        assert.equal(classifyGlobal(path), 'dangerous', `${path} (flagged by ${by.join(', ')})`);
        // Rotate the spelling; dotted names only resolve under protocol 4, so they always use STACK_GLOBAL.
        const form = name.includes('.') ? 'protocol4-stack-global' : FORMS[n++ % FORMS.length];
        const a = await analyze(callPickle(module, name, form));
        const f = find(a, 'pickle/dangerous-global', path);
        assert.equal(f.severity, 'critical', `${path} via ${form}`);
        assert.match(f.message, /calls it \((REDUCE)/, `${path} via ${form}: the call is named`);
        assert.ok(isBlocking(f.severity));
      }
    });
  }

  it('referencing a gadget without calling it is critical too (a later opcode can call it)', async () => {
    for (const [module, name] of [['os', 'system'], ['builtins', 'getattr'], ['torch', 'os.system']]) {
      const a = await analyze(new PickleAsm().proto(4).stackGlobalOf(module, name).stop().bytes());
      assert.equal(find(a, 'pickle/dangerous-global', globalPath(module, name)).severity, 'critical');
    }
  });

  it('beyond the peers: private aliases reached by attribute walks (collections._sys is sys)', async () => {
    for (const [module, name] of [['collections', '_sys.modules'], ['torch.serialization', 'pickle_module.loads'], ['mypkg.utils', '_os.system']]) {
      assert.equal(classifyGlobal(globalPath(module, name)), 'dangerous', `${module}.${name}`);
      find(await analyze(callPickle(module, name, 'protocol4-stack-global')), 'pickle/dangerous-global', `${module}.${name}`);
    }
  });
});

describe('peer coverage: detection logic beyond the lists', () => {
  it('non-standard imports (fickling NonStandardImports): outside the allowlist is medium when referenced, high when called', async () => {
    assert.equal(find(await analyze(new PickleAsm().proto(2).global('mypkg.model', 'Net').stop().bytes()), 'pickle/unknown-global', 'mypkg.model.Net').severity, 'medium');
    assert.equal(find(await analyze(callPickle('mypkg.model', 'Net', 'protocol2-global')), 'pickle/unsafe-call', 'mypkg.model.Net').severity, 'high');
  });

  it('STACK_GLOBAL with operands that are not plain strings (picklescan/modelscan "unknown"): critical', async () => {
    const bytes = new PickleAsm().proto(4).binint1(7).shortBinunicode('system').stackGlobal().shortBinunicode('id').tuple1().reduce().stop().bytes();
    const a = await analyze(bytes);
    assert.equal(find(a, 'pickle/unresolved-global').severity, 'critical');
    assert.equal(find(a, 'pickle/unresolved-call').severity, 'critical');
  });

  it('memo tricks: operands fetched from the memo are resolved through real values, not the opcode before PUT', async () => {
    // picklescan and modelscan take a memo value from the opcode just before PUT: here that opcode is a POP,
    // so they see "None" (only suspicious). The unpickler memoizes the top of the stack: "os", then "system".
    const bytes = new PickleAsm().proto(4)
      .shortBinunicode('os').shortBinunicode('decoy').pop().binput(0)
      .shortBinunicode('system').shortBinunicode('decoy').pop().binput(1)
      .shortBinunicode('collections').shortBinunicode('OrderedDict').pop().pop()
      .binget(0).binget(1).stackGlobal().shortBinunicode('id').tuple1().reduce().stop().bytes();
    assert.equal(find(await analyze(bytes), 'pickle/dangerous-global', 'os.system').severity, 'critical');
    // A memo slot overwritten with another name: the last PUT wins, as in the unpickler.
    const overwrite = new PickleAsm().proto(4)
      .shortBinunicode('collections').binput(0).pop().shortBinunicode('OrderedDict').binput(1).pop()
      .shortBinunicode('subprocess').binput(0).pop().shortBinunicode('getoutput').binput(1).pop()
      .binget(0).binget(1).stackGlobal().shortBinunicode('id').tuple1().reduce().stop().bytes();
    find(await analyze(overwrite), 'pickle/dangerous-global', 'subprocess.getoutput');
  });

  it('protocol 0 text GLOBAL and INST (picklescan/modelscan read both)', async () => {
    find(await analyze(Buffer.from("cposix\nsystem\n(S'id'\ntR.", 'latin1')), 'pickle/dangerous-global', 'posix.system');
    find(await analyze(Buffer.from("(S'id'\nisubprocess\ncheck_output\n.", 'latin1')), 'pickle/dangerous-global', 'subprocess.check_output');
  });

  it('calls through BUILD (fickling: __setstate__ calls): state that plants a hook is critical', async () => {
    const bytes = new PickleAsm().proto(2)
      .global('collections', 'OrderedDict').emptyTuple().reduce()
      .emptyDict().binunicode('__setstate__').global('os', 'system').setitem().build()
      .binunicode('id').build().stop().bytes();
    const a = await analyze(bytes);
    assert.equal(find(a, 'pickle/setstate-override').severity, 'critical');
    assert.match(find(a, 'pickle/dangerous-global', 'os.system').message, /BUILD hook/);
  });

  it('overwriting module state (fickling: assignments to builtins and classes): BUILD/SETITEMS on an imported global', async () => {
    // BUILD (None, {'__init__': os.system}) on collections.OrderedDict rebinds a method of a class every loader uses.
    const bytes = new PickleAsm().proto(2)
      .global('collections', 'OrderedDict').none().emptyDict().binunicode('__init__').global('os', 'system').setitem().tuple2().build()
      .stop().bytes();
    const a = await analyze(bytes);
    find(a, 'pickle/build-on-global', 'collections.OrderedDict');
    find(a, 'pickle/setstate-override', '__init__');
    const items = await analyze(new PickleAsm().proto(2).global('torch', 'Tensor').mark().binunicode('x').binint1(1).setitems().stop().bytes());
    assert.equal(find(items, 'pickle/mutates-global', 'torch.Tensor').severity, 'high');
  });

  it('a call whose result is dropped (fickling UnusedVariables: the shape of an injected payload): medium, and the call is judged', async () => {
    const injected = Buffer.concat([
      new PickleAsm().proto(2).global('mypkg.hooks', 'install').emptyTuple().reduce().pop().bytes(),
      plainDataPickle().subarray(2), // the original pickle, after its PROTO
    ]);
    const a = await analyze(injected);
    assert.equal(find(a, 'pickle/discarded-call', 'mypkg.hooks.install').severity, 'medium');
    assert.equal(find(a, 'pickle/unsafe-call', 'mypkg.hooks.install').severity, 'high');
    // POP_MARK drops what it pops too; a memoized result is kept (a later GET can use it).
    find(await analyze(new PickleAsm().proto(2).mark().global('collections', 'OrderedDict').emptyTuple().reduce().popMark().none().stop().bytes()), 'pickle/discarded-call');
    const kept = await analyze(new PickleAsm().proto(2).global('collections', 'OrderedDict').emptyTuple().reduce().binput(0).pop().binget(0).stop().bytes());
    assert.deepEqual(kept.findings, []);
  });

  it('duplicate or misplaced PROTO (fickling DuplicateProto/MisplacedProto): medium', async () => {
    const dup = await analyze(new PickleAsm().proto(2).proto(4).none().stop().bytes());
    assert.equal(find(dup, 'pickle/misplaced-proto', 'PROTO 4').severity, 'medium');
    const late = await analyze(new PickleAsm().proto(2).emptyList().proto(2).stop().bytes());
    find(late, 'pickle/misplaced-proto', 'offset 3');
    // Each pickle of a stream starts with its own PROTO: not misplaced.
    assert.deepEqual((await analyze(Buffer.concat([plainDataPickle(), plainDataPickle()]))).findings, []);
  });

  it('invalid opcodes and memo reads of entries never stored (fickling InvalidOpcode, GETs without PUT): high', async () => {
    assert.equal(find(await analyze(Buffer.from([0x80, 0x02, 0xff, 0x2e])), 'pickle/parse-error', 'invalid opcode').severity, 'high');
    assert.equal(find(await analyze(new PickleAsm().proto(2).binget(9).stop().bytes()), 'pickle/parse-error', 'never stored').severity, 'high');
  });

  it('expansion attacks built from nested references (fickling ExpansionAttack, GET/PUT ratio and DUP): high', async () => {
    for (const dup of [false, true]) {
      const bytes = billionLaughsPickle(30, 10, dup);
      assert.ok(bytes.length < 1500, `${bytes.length} bytes`);
      const a = await analyze(bytes);
      const f = find(a, 'pickle/expansion', 'billion laughs');
      assert.equal(f.severity, 'high', dup ? 'DUP' : 'GET');
    }
    // Shared references of a realistic size (1,000 references to one 1,000-item list) are not an attack.
    const wide = new PickleAsm().proto(2).mark();
    for (let i = 0; i < 1000; i++) wide.binint(i);
    wide.list().binput(0).pop().mark();
    for (let i = 0; i < 1000; i++) wide.binget(0);
    assert.deepEqual((await analyze(wide.list().stop().bytes())).findings, []);
  });

  it('nested pickles: object arrays in .npy and joblib dumps are walked; loaders of pickled bytes are critical', async () => {
    find(await analyze(npyFile('|O', [1], osSystemPickle()), 'x.npy'), 'pickle/dangerous-global', 'os.system');
    find(await analyze(joblibPickle([{ shape: [1], descr: 'O8', payload: osSystemPickle() }]), 'x.joblib'), 'pickle/dangerous-global', 'os.system');
    const nested = new PickleAsm().proto(2).global('pickle', 'loads').binbytes(osSystemPickle()).tuple1().reduce().stop().bytes();
    find(await analyze(nested), 'pickle/dangerous-global', 'pickle.loads');
    const torchNested = new PickleAsm().proto(2).global('torch.storage', '_load_from_bytes').binbytes(osSystemPickle()).tuple1().reduce().stop().bytes();
    find(await analyze(torchNested), 'pickle/dangerous-global', 'torch.storage._load_from_bytes');
  });

  it('a gadget inside a torch zip data.pkl is found (the peers open .pt/.bin archives too)', async () => {
    const a = await analyze(torchZip(callPickle('os', 'system', 'protocol2-global'), { '0': Buffer.alloc(16) }), 'model.pt');
    assert.equal(a.format, 'pytorch-zip');
    find(a, 'pickle/dangerous-global', 'os.system');
  });
});

describe('peer coverage: the file names the peers open', () => {
  it('.dill is a pickle; .dat/.data are walked as pickles (picklescan, modelscan); .pb (SavedModel) cannot be checked: high', async () => {
    find(await analyze(osSystemPickle(), 'model.dill'), 'pickle/dangerous-global', 'os.system');
    // A protocol 0 pickle with bytes appended is not detected by content, but a pickle loader still runs it.
    const appended = Buffer.concat([Buffer.from("cos\nsystem\n(S'id'\ntR.", 'latin1'), Buffer.from('trailing data')]);
    for (const name of ['weights.dat', 'model.data']) find(await analyze(appended, name), 'pickle/dangerous-global', 'os.system');
    assert.deepEqual((await analyze(Buffer.alloc(64, 7), 'weights.dat')).findings, []);
    assert.equal(find(await analyze(Buffer.from('no graph here'), 'saved_model.pb'), 'format/unknown', 'SavedModel').severity, 'high');
    // Protobuf bytes the ONNX reader recognises are a mismatch with the name: high as well.
    const pb = await analyze(Buffer.from([0x08, 0x01, 0x12, 0x04, 0x74, 0x65, 0x73, 0x74]), 'saved_model.pb');
    assert.equal(find(pb, 'format/mismatch', 'SavedModel').severity, 'high');
  });
});

describe('peer coverage: no false positive on the benign files the suite writes', () => {
  const tensors = Array.from({ length: 24 }, (_, i) => ({ name: `layers.${i}.weight`, shape: [16, 8], storageKey: String(i) }));
  const benign: [string, () => Buffer][] = [
    ['torch state dict (data.pkl)', () => torchStateDictPickle(tensors)],
    ['state dict with tied weights (shared tensor references)', tiedWeightsPickle],
    ['plain data (dicts, lists, tuples)', plainDataPickle],
    ['protocol 0 data', protocol0DataPickle],
    ['numpy array (pickle.dumps of an ndarray)', () => numpyArrayPickle(32)],
  ];
  for (const [what, make] of benign) {
    it(what, async () => {
      const a = await analyze(make());
      assert.deepEqual(a.findings, [], JSON.stringify(a.findings));
    });
  }

  it('torch zip state dict (.pt), numeric .npy, joblib dump of plain arrays', async () => {
    const storages = Object.fromEntries(tensors.map((t) => [t.storageKey, Buffer.alloc(16 * 8 * 4)]));
    const zip = await analyze(torchZip(torchStateDictPickle(tensors), storages), 'model.pt');
    assert.equal(zip.format, 'pytorch-zip');
    assert.deepEqual(zip.findings, []);
    assert.deepEqual((await analyze(npyFile('<f4', [4, 4], Buffer.alloc(64)), 'w.npy')).findings, []);
    const jl = await analyze(joblibPickle([{ shape: [4, 4], descr: 'f8', payload: Buffer.alloc(128) }, { shape: [3], descr: 'i4', payload: Buffer.alloc(12) }]), 'model.joblib');
    assert.deepEqual(jl.findings, []);
  });

  it('every opcode of protocols 0-5 in one benign stream: nothing above medium, no misplaced PROTO or discarded call', async () => {
    const a = await analyze(everyOpcodePickle());
    assert.ok(a.findings.every((f) => !isBlocking(f.severity)), JSON.stringify(a.findings));
    assert.ok(!a.findings.some((f) => f.rule === 'pickle/misplaced-proto' || f.rule === 'pickle/discarded-call' || f.rule === 'pickle/expansion'), JSON.stringify(a.findings));
  });
});
