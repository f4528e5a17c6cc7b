/**
 * Which imported globals a model-weights pickle may use. The ALLOWLIST decides: anything outside it is
 * suspect, because denylists are always bypassed (a new gadget, an alias module, a dotted attribute path).
 * The denylist only raises the severity of well-known code-execution and scanner-evasion gadgets.
 */

export type GlobalClass = 'safe' | 'dangerous' | 'unknown';

/** Exact dotted paths that rebuild tensors, arrays and plain containers and nothing else. */
const SAFE_EXACT = new Set<string>([
  // Python containers and value types (no code runs beyond building the value).
  'collections.OrderedDict',
  'collections.defaultdict',
  'collections.Counter',
  'collections.deque',
  'builtins.set',
  'builtins.frozenset',
  'builtins.slice',
  'builtins.complex',
  'builtins.bytearray',
  'builtins.bytes',
  'builtins.range',
  'builtins.list',
  'builtins.dict',
  'builtins.tuple',
  'builtins.int',
  'builtins.float',
  'builtins.bool',
  'builtins.str',
  'builtins.object',
  'copyreg._reconstructor',
  '_codecs.encode',
  // torch state dicts (torch.save of a state_dict, and what torch's weights_only unpickler accepts).
  'torch._utils._rebuild_tensor',
  'torch._utils._rebuild_tensor_v2',
  'torch._utils._rebuild_tensor_v3',
  'torch._utils._rebuild_parameter',
  'torch._utils._rebuild_parameter_with_state',
  'torch._utils._rebuild_qtensor',
  'torch._utils._rebuild_sparse_tensor',
  'torch._utils._rebuild_nested_tensor',
  'torch._utils._rebuild_device_tensor_from_numpy',
  'torch._utils._rebuild_meta_tensor_no_storage',
  'torch._utils._rebuild_wrapper_subclass',
  'torch._utils._rebuild_from_type',
  'torch._utils._rebuild_from_type_v2',
  'torch._tensor._rebuild_from_type_v2',
  'torch.nn.parameter.Parameter',
  'torch.storage.TypedStorage',
  'torch.storage.UntypedStorage',
  'torch.storage._TypedStorage',
  'torch.storage._UntypedStorage',
  'torch.Size',
  'torch.device',
  'torch.dtype',
  'torch.Tensor',
  'torch.serialization._get_layout',
  'torch.per_tensor_affine',
  'torch.per_channel_affine',
  'torch.per_tensor_symmetric',
  'torch.per_channel_symmetric',
  'torch.per_channel_affine_float_qparams',
  // numpy arrays, dtypes and scalars (numpy 1.x `core` and 2.x `_core`).
  'numpy.ndarray',
  'numpy.dtype',
  'numpy.core.multiarray._reconstruct',
  'numpy._core.multiarray._reconstruct',
  'numpy.core.multiarray.scalar',
  'numpy._core.multiarray.scalar',
  'numpy.core.numeric._frombuffer',
  'numpy._core.numeric._frombuffer',
  // joblib's placeholders for arrays whose bytes follow the wrapper in the stream.
  'joblib.numpy_pickle.NumpyArrayWrapper',
  'joblib.numpy_pickle_compat.NDArrayWrapper',
  'joblib.numpy_pickle.NDArrayWrapper',
  'sklearn.externals.joblib.numpy_pickle.NumpyArrayWrapper',
  'sklearn.externals.joblib.numpy_pickle_compat.NDArrayWrapper',
]);

/** torch storage classes (torch.FloatStorage, torch.cuda.HalfStorage...) and dtype/layout/memory-format names. */
const SAFE_PATTERNS: readonly RegExp[] = [
  /^torch\.(cuda\.)?[A-Z][A-Za-z0-9]*Storage$/,
  /^torch\.(u?int(8|16|32|64)|float(8_e4m3fnu?z?|8_e5m2(fnuz)?|16|32|64)?|bfloat16|half|double|long|int|short|bool|cfloat|cdouble|complex(32|64|128)|q(u?int(8|32)|uint4x2|uint2x4)|bits\w+|uint[1-7]|int[1-7])$/,
  /^torch\.(strided|sparse_coo|sparse_csr|sparse_csc|sparse_bsr|sparse_bsc|_mkldnn|jagged)$/,
  /^torch\.(contiguous_format|channels_last|channels_last_3d|preserve_format)$/,
  /^numpy\.(bool_|u?int(8|16|32|64)|float(16|32|64|128)|complex(64|128|256)|longlong|ulonglong|intc|uintc|half|single|double|longdouble|csingle|cdouble|clongdouble|str_|bytes_|void|datetime64|timedelta64)$/,
  /^numpy\.dtypes\.[A-Za-z0-9]+DType$/,
];

/**
 * Safe callables that call or instantiate another global they receive as an argument: globals in those
 * arguments count as called (`_rebuild_from_type_v2(func, cls, ...)`, `copyreg._reconstructor(cls, ...)`,
 * a defaultdict factory, tensor backward hooks). The value lists the argument positions to inspect
 * ('all' for every argument); only those are searched, which keeps state dicts fast.
 */
export const FORWARDERS = new Map<string, readonly number[] | 'all'>([
  ['copyreg._reconstructor', [0, 1]],
  ['collections.defaultdict', [0]],
  ['torch._utils._rebuild_from_type', 'all'],
  ['torch._utils._rebuild_from_type_v2', 'all'],
  ['torch._tensor._rebuild_from_type_v2', 'all'],
  ['torch._utils._rebuild_wrapper_subclass', [0]],
  ['torch._utils._rebuild_parameter', [2]],
  ['torch._utils._rebuild_parameter_with_state', [2, 3]],
  // _rebuild_tensor_v2/v3(storage, offset, size, stride, requires_grad, backward_hooks, ...)
  ['torch._utils._rebuild_tensor_v2', [5, 6]],
  ['torch._utils._rebuild_tensor_v3', [5, 7]],
  ['numpy.core.multiarray._reconstruct', [0]],
  ['numpy._core.multiarray._reconstruct', [0]],
]);

/**
 * Whole modules (and everything under them) that run code, reach the OS, files or the network, or load
 * code. The union of what picklescan, modelscan and fickling flag (docs/scan-coverage.md), and more.
 */
const DANGEROUS_MODULES = [
  // processes and the OS
  'os', 'posix', 'nt', 'subprocess', '_posixsubprocess', 'pty', 'shutil', 'sys', 'signal', '_signal', 'atexit',
  'commands', 'popen2', 'platform', 'uuid', 'pexpect', 'pipes', '_osx_support', '_aix_support', '_pyrepl',
  // code execution, compilation, import machinery, debuggers and profilers
  'importlib', '_frozen_importlib', '_frozen_importlib_external', '_imp', 'imp', 'zipimport', 'pkgutil', 'runpy',
  'marshal', 'code', 'codeop', 'compileall', 'py_compile', '_interpreters', '_xxsubinterpreters', 'ctypes', '_ctypes',
  'cffi', 'mmap', 'types', 'inspect', 'gc', 'pdb', 'bdb', 'trace', 'timeit', 'cProfile', 'profile', 'pydoc', 'doctest',
  'test', 'unittest', 'idlelib', 'lib2to3', 'site', 'sysconfig', 'builtins.__import__',
  'operator', '_operator', 'functools', '_functools',
  // nested deserializers (a pickle inside the pickle, loaded by code no scanner sees)
  'pickle', '_pickle', 'cPickle', 'pickletools', 'dill', 'cloudpickle', 'shelve', 'copyreg.add_extension', 'joblib',
  // network and concurrency
  'socket', '_socket', 'ssl', 'select', 'selectors', 'asyncio', 'multiprocessing', 'concurrent', 'threading', '_thread',
  'urllib', 'urllib2', 'urllib3', 'requests', 'httpx', 'aiohttp', 'http', 'httplib', 'ftplib', 'smtplib', 'telnetlib',
  'poplib', 'imaplib', 'nntplib', 'xmlrpc', 'socketserver', 'webbrowser', 'paramiko',
  // files, archives, databases, logging handlers
  'tempfile', 'glob', 'pathlib', 'io', '_io', 'fileinput', 'linecache', 'filecmp', 'difflib', 'tarfile', 'zipfile',
  'sqlite3', '_sqlite3', 'logging', 'syslog',
  // package installation
  'distutils', 'setuptools', 'pip', 'ensurepip', 'venv',
  // security scanners (a pickle that imports one is trying to switch it off)
  'picklescan', 'modelscan', 'fickling', 'safety', 'model_unpickler', 'saferpickle', 'modelaudit',
  // not modules, but fickling lists them with its modules: any import spelled so
  'eval', 'exec',
  // ML framework entry points that load files, compile or run code
  'numpy.testing', 'numpy.load', 'numpy.lib.npyio', 'numpy.f2py', 'numpy.distutils', 'numpy.ctypeslib',
  'torch.load', 'torch.serialization', 'torch.hub', 'torch.compile', 'torch.fx', 'torch.utils.collect_env',
  'torch.utils.cpp_extension', 'torch.utils._config_module', 'torch.utils.bottleneck', 'torch._dynamo',
  'torch._inductor', 'torch.jit', 'torch.package', 'torch.ops', 'torch._ops', 'torch.storage._load_from_bytes',
  'torch.distributed', 'torch.multiprocessing', 'torch.utils.data', 'torch._C._jit',
  'keras.models.load_model', 'tensorflow', 'jax', 'IPython', 'ipykernel', 'sympy', 'pandas.io', 'pandas.read_pickle',
];

/**
 * Names that are dangerous wherever they appear after the first part of a dotted path: protocol 4 resolves
 * `module.attr.attr` by attribute walks, so `torch.os.system` is `os.system` reached through torch's own
 * `import os` (fickling's GHSA-5j3x-jp52-966f checks every dotted part the same way), and fickling flags any
 * import named `eval`. Every one-word module above, plus the code-evaluating builtins. (`compile` is left
 * out: `re._compile` is how compiled regular expressions pickle; it stays an unknown global, high when called.)
 */
const DANGEROUS_HOPS = new Set([...DANGEROUS_MODULES.filter((m) => !m.includes('.')), 'builtins', 'eval', 'exec', 'execfile']);

/** Gadgets that turn data into calls or attribute lookups, outside the modules above. */
const DANGEROUS_EXACT = new Set([
  'copyreg._reconstructor_globals', 'collections.namedtuple', 'string.Formatter', 'string.Template',
  'torch.storage._load_from_bytes', 'torch._weights_only_unpickler', 'torch.classes',
]);

/** Python 2 module names that CPython's unpickler maps to Python 3 ones (fix_imports, _compat_pickle). */
const PY2_MODULES: Readonly<Record<string, string>> = {
  __builtin__: 'builtins',
  exceptions: 'builtins',
  copy_reg: 'copyreg',
  cPickle: 'pickle',
  _cPickle: 'pickle',
  commands: 'subprocess',
  urllib2: 'urllib.request',
  httplib: 'http.client',
  cStringIO: 'io',
  StringIO: 'io',
  UserDict: 'collections',
  UserList: 'collections',
  Queue: 'queue',
  SocketServer: 'socketserver',
  thread: '_thread',
  dummy_thread: '_dummy_thread',
  Tkinter: 'tkinter',
  _winreg: 'winreg',
  xmlrpclib: 'xmlrpc.client',
  SimpleHTTPServer: 'http.server',
  BaseHTTPServer: 'http.server',
  CGIHTTPServer: 'http.server',
  cookielib: 'http.cookiejar',
  __main__: '__main__',
};

/** The dotted path the unpickler resolves, with Python 2 module names fixed. */
export function globalPath(module: string, name: string): string {
  const fixed = PY2_MODULES[module] ?? module;
  return `${fixed}.${name}`;
}

function underPrefix(path: string, prefix: string): boolean {
  return path === prefix || path.startsWith(prefix + '.');
}

/**
 * Classifies a dotted global path. Dunder attribute hops ("OrderedDict.__init__.__globals__") reach
 * arbitrary objects through attribute walks (protocol 4 dotted names) and count as dangerous.
 */
export function classifyGlobal(path: string): GlobalClass {
  const parts = path.split('.');
  if (parts.some((p) => p.length === 0 || /^__\w+__$/.test(p) && p !== '__main__')) return 'dangerous';
  if (DANGEROUS_EXACT.has(path)) return 'dangerous';
  // An exact allowlist entry wins over a dangerous module prefix (torch.serialization._get_layout,
  // joblib.numpy_pickle.NumpyArrayWrapper, _codecs.encode).
  if (SAFE_EXACT.has(path)) return 'safe';
  // builtins is allowlist-only: what is not a plain container or value type reaches code or objects by name.
  if (parts[0] === 'builtins') return 'dangerous';
  // Private top-level modules (_socket, _io, _operator, _posixsubprocess...) are CPython internals: never in weights.
  if (parts[0].startsWith('_') && parts[0] !== '__main__') return 'dangerous';
  for (const m of DANGEROUS_MODULES) if (underPrefix(path, m)) return 'dangerous';
  // `import os as _os` is the usual spelling inside modules: `collections._sys.modules` is sys.modules.
  for (let i = 1; i < parts.length; i++) if (DANGEROUS_HOPS.has(parts[i]) || DANGEROUS_HOPS.has(parts[i].replace(/^_+/, ''))) return 'dangerous';
  for (const re of SAFE_PATTERNS) if (re.test(path)) return 'safe';
  return 'unknown';
}

/** The allowlist as data, for docs and `--json` consumers. */
export function allowlist(): { exact: string[]; patterns: string[] } {
  return { exact: [...SAFE_EXACT].sort(), patterns: SAFE_PATTERNS.map((r) => r.source) };
}
