import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { IoError, RefusedError, SovereignError } from '../util/errors';
import { basicHeader, dockerCredentials, parseChallenge, type Challenge, type Credentials } from './auth';
import type { BlobOutcome, OciTarget, PushBlobOptions } from './target';
import { ConnectionError, drain, isCertificateError, isPlainHttpAnswer, OciTransport, readLimited, type Reply, type TransportOptions } from './transport';
import { DIGEST, hexOf, isDescriptor, MAX_MANIFEST_BYTES, OCI_INDEX, OCI_MANIFEST, type Descriptor, type FetchedManifest, type ImageIndex } from './types';

export interface RegistryClientOptions extends TransportOptions {
  /** Allow plain HTTP to a registry that is not on loopback (never the default). */
  insecure?: boolean;
  /** Explicit credentials (else the docker config file and its credential helpers). */
  credentials?: Credentials;
  /** Environment for the docker config lookup (DOCKER_CONFIG, HOME). */
  env?: NodeJS.ProcessEnv;
  /** Bytes per PATCH of a chunked upload (default 64 MiB). */
  chunkSize?: number;
  /** How many times an upload is resumed after a cut connection (default 5). */
  maxResumes?: number;
  /** The access asked of a token server: pull, or pull and push. */
  access: 'pull' | 'push';
}

const ACCEPT = [OCI_MANIFEST, OCI_INDEX, 'application/vnd.docker.distribution.manifest.v2+json', 'application/vnd.docker.distribution.manifest.list.v2+json'].join(', ');
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** A client of one repository of an OCI distribution registry (distribution-spec 1.1). */
export class RegistryClient implements OciTarget {
  readonly display: string;
  private readonly transport: OciTransport;
  private base: URL | undefined;
  private authorization: string | undefined;
  private credentials: Credentials | undefined | null = null;
  private readonly mountScopes = new Set<string>();

  constructor(
    readonly host: string,
    readonly repository: string,
    private readonly options: RegistryClientOptions,
  ) {
    this.display = `oci://${host}/${repository}`;
    this.transport = new OciTransport(options);
  }

  close(): void {
    this.transport.close();
  }

  /** https, or plain http when the server does not speak TLS and is on loopback (or --insecure). */
  private async baseUrl(signal?: AbortSignal): Promise<URL> {
    if (this.base) return this.base;
    const https = new URL(`https://${this.host}/v2/`);
    try {
      const res = await this.transport.send(https, 'GET', {}, undefined, signal);
      drain(res.body);
      this.base = new URL(`https://${this.host}/`);
      return this.base;
    } catch (err) {
      if (!(err instanceof ConnectionError)) throw err;
      if (isCertificateError(err)) {
        throw new RefusedError(`the TLS certificate of ${this.host} is not trusted (${err.code})`, 'pass --ca-file CA.pem with the certificate of the CA that signed it (verification is never turned off)');
      }
      if (!isPlainHttpAnswer(err)) throw unreachable(this.host, err);
      if (!this.options.insecure && !(await this.transport.isLoopback(https))) {
        throw new RefusedError(`${this.host} answers plain HTTP, not TLS: refused (plain HTTP is used only for loopback)`, 'give the registry a TLS certificate (and pass --ca-file), or pass --insecure if this network is yours');
      }
      const plain = new URL(`http://${this.host}/v2/`);
      try {
        drain((await this.transport.send(plain, 'GET', {}, undefined, signal)).body);
      } catch (e) {
        if (e instanceof ConnectionError) throw unreachable(this.host, e);
        throw e;
      }
      this.base = new URL(`http://${this.host}/`);
      return this.base;
    }
  }

  private path(kind: 'blobs' | 'manifests' | 'referrers', ref: string): string {
    return `/v2/${this.repository}/${kind}/${ref}`;
  }

  /** A request with the registry's auth dance: on 401, answer the challenge once and retry. */
  async request(method: string, target: string | URL, init: { headers?: Record<string, string>; body?: () => Buffer | Readable; signal?: AbortSignal } = {}): Promise<Reply> {
    const base = await this.baseUrl(init.signal);
    const url = typeof target === 'string' ? new URL(target, base) : target;
    let retried = false;
    for (let attempt = 0; ; attempt++) {
      const headers: Record<string, string> = { ...init.headers };
      if (this.authorization && url.origin === base.origin) headers.authorization = this.authorization;
      const body = init.body?.();
      let res: Reply;
      try {
        res = await this.transport.send(url, method, headers, body, init.signal);
      } catch (err) {
        // A kept-alive socket the registry closed meanwhile: a request without a streamed body is sent once more.
        if (err instanceof ConnectionError && !init.signal?.aborted && (body === undefined || Buffer.isBuffer(body)) && !retried) {
          retried = true;
          attempt--;
          continue;
        }
        throw err;
      }
      if (res.status === 401 && attempt === 0) {
        drain(res.body);
        await this.authenticate(parseChallenge(res.headers['www-authenticate'] as string | undefined), init.signal);
        continue;
      }
      if (res.status === 401 || res.status === 403) {
        const detail = await errorDetail(res);
        const who = this.credentials ? ` with the credentials from ${this.credentials.source}` : ' anonymously';
        throw new RefusedError(
          `${this.display}: ${res.status === 401 ? 'authentication failed' : 'access denied'}${who}${detail ? ` (${detail})` : ''}`,
          this.credentials ? 'check the user name and password, and that this account may ' + (this.options.access === 'push' ? 'push to' : 'pull from') + ' the repository' : 'log in (`docker login HOST`, which writes ~/.docker/config.json) or pass --username with --password-stdin',
        );
      }
      return res;
    }
  }

  private async creds(): Promise<Credentials | undefined> {
    if (this.credentials === null) this.credentials = this.options.credentials ?? (await dockerCredentials(this.host, this.options.env));
    return this.credentials;
  }

  private async authenticate(challenge: Challenge | undefined, signal?: AbortSignal): Promise<void> {
    const creds = await this.creds();
    if (challenge?.scheme === 'basic') {
      if (!creds) throw new RefusedError(`${this.display} requires a user name and password`, 'log in (`docker login HOST`) or pass --username with --password-stdin');
      this.authorization = basicHeader(creds);
      return;
    }
    if (challenge?.scheme !== 'bearer' || !challenge.params.realm) {
      throw new RefusedError(`${this.display} asked for authentication the client does not speak (${challenge?.scheme ?? 'no WWW-Authenticate header'})`, 'use a registry that offers Basic or Bearer token authentication');
    }
    let realm: URL;
    try {
      realm = new URL(challenge.params.realm);
    } catch {
      throw new RefusedError(`${this.display}: the token realm "${challenge.params.realm}" is not a URL`);
    }
    if (realm.protocol !== 'https:' && !(realm.protocol === 'http:' && (this.options.insecure || (await this.transport.isLoopback(realm))))) {
      throw new RefusedError(`${this.display}: the token server ${realm.origin} is plain HTTP: refused`, 'plain HTTP is used only on loopback or with --insecure');
    }
    if (challenge.params.service) realm.searchParams.set('service', challenge.params.service);
    const actions = this.options.access === 'push' ? 'pull,push' : 'pull';
    realm.searchParams.append('scope', `repository:${this.repository}:${actions}`);
    for (const s of this.mountScopes) realm.searchParams.append('scope', `repository:${s}:pull`);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (creds) headers.authorization = basicHeader(creds);
    const res = await this.transport.send(realm, 'GET', headers, undefined, signal);
    const body = await readLimited(res.body, 1024 * 1024, 'the token answer');
    if (res.status !== 200) {
      throw new RefusedError(`${this.display}: the token server ${realm.origin} refused${creds ? ` the credentials from ${creds.source}` : ' an anonymous token'} (HTTP ${res.status})`, 'log in (`docker login HOST`) or pass --username with --password-stdin');
    }
    let token: string | undefined;
    try {
      const parsed = JSON.parse(body.toString('utf8')) as { token?: string; access_token?: string };
      token = parsed.token ?? parsed.access_token;
    } catch {
      token = undefined;
    }
    if (!token) throw new RefusedError(`${this.display}: the token server ${realm.origin} answered no token`);
    this.authorization = `Bearer ${token}`;
  }

  async hasBlob(digest: string, signal?: AbortSignal): Promise<boolean> {
    const res = await this.request('HEAD', this.path('blobs', digest), { signal });
    if (res.status === 200) return true;
    if (res.status === 404) return false;
    throw await unexpected(this.display, 'HEAD blob', res);
  }

  async pushBlob(desc: Descriptor, options: PushBlobOptions): Promise<BlobOutcome> {
    const { signal } = options;
    if (await this.hasBlob(desc.digest, signal)) return 'exists';
    let location: URL | undefined;
    for (const from of options.mountFrom ?? []) {
      if (from === this.repository) continue;
      if (!this.mountScopes.has(from)) {
        this.mountScopes.add(from);
        if (this.authorization?.startsWith('Bearer ')) this.authorization = undefined; // a new token with the source's scope
      }
      const res = await this.request('POST', `/v2/${this.repository}/blobs/uploads/?mount=${encodeURIComponent(desc.digest)}&from=${encodeURIComponent(from)}`, { signal });
      drain(res.body);
      if (res.status === 201) return 'mounted';
      if (res.status === 202 && res.headers.location) {
        location = new URL(res.headers.location, await this.baseUrl());
        break;
      }
    }
    location ??= await this.startUpload(signal);
    const chunk = this.options.chunkSize ?? 64 * 1024 * 1024;
    let offset = 0;
    let resumes = 0;
    while (offset < desc.size) {
      const end = Math.min(desc.size, offset + chunk);
      const start = offset;
      try {
        const res = await this.request('PATCH', location, {
          headers: { 'content-type': 'application/octet-stream', 'content-range': `${start}-${end - 1}`, 'content-length': String(end - start) },
          body: () => options.open(start, end),
          signal,
        });
        if (res.status !== 202) throw await unexpected(this.display, `PATCH ${desc.digest.slice(0, 19)}`, res);
        drain(res.body);
        location = new URL(res.headers.location ?? location.href, location);
        offset = rangeEnd(res.headers.range as string | undefined) ?? end;
        options.onProgress?.(offset, desc.size);
      } catch (err) {
        if (!(err instanceof ConnectionError) || signal?.aborted) throw err;
        if (++resumes > (this.options.maxResumes ?? 5)) throw new IoError(`${this.display}: the upload of ${desc.digest} was cut ${resumes} times (${err.message})`, 'check the network to the registry and push again: blobs already sent are not sent again');
        // Resume: ask the registry how much of the upload it holds (GET the upload URL's Range).
        const status = await this.uploadStatus(location, offset, signal);
        if (status === undefined) {
          // The registry dropped the session (distribution does after a partial chunk): a new one.
          location = await this.startUpload(signal);
          offset = 0;
        } else {
          location = status.location;
          offset = status.offset;
        }
      }
    }
    const done = new URL(location);
    done.searchParams.set('digest', desc.digest);
    const res = await this.request('PUT', done, { signal });
    if (res.status !== 201) throw await unexpected(this.display, `PUT ${desc.digest.slice(0, 19)}`, res);
    drain(res.body);
    return 'uploaded';
  }

  private async startUpload(signal?: AbortSignal): Promise<URL> {
    const res = await this.request('POST', `/v2/${this.repository}/blobs/uploads/`, { signal });
    if (res.status !== 202 || !res.headers.location) throw await unexpected(this.display, 'POST upload', res);
    drain(res.body);
    return new URL(res.headers.location, await this.baseUrl());
  }

  /** GET the upload URL: where to continue (undefined when the registry no longer knows the upload). */
  private async uploadStatus(location: URL, confirmed: number, signal?: AbortSignal): Promise<{ location: URL; offset: number } | undefined> {
    let res: Reply;
    try {
      res = await this.request('GET', location, { signal });
    } catch (err) {
      if (err instanceof ConnectionError) return undefined;
      throw err;
    }
    drain(res.body);
    if (res.status !== 204 && res.status !== 202) return undefined;
    // "0-0" is what distribution answers for an empty upload as well as for one byte: trust what we know was confirmed.
    const range = String(res.headers.range ?? '').trim();
    const offset = range === '0-0' || range === 'bytes=0-0' ? Math.min(1, confirmed) : (rangeEnd(range) ?? 0);
    return { location: new URL(res.headers.location ?? location.href, location), offset };
  }

  async getBlob(desc: Descriptor, signal?: AbortSignal): Promise<Readable> {
    let res = await this.request('GET', this.path('blobs', desc.digest), { signal });
    for (let hop = 0; REDIRECTS.has(res.status) && res.headers.location && hop < 5; hop++) {
      drain(res.body);
      // Storage redirects (S3 and the like) carry their own signature: no registry credentials cross.
      res = await this.transport.send(new URL(res.headers.location, res.url), 'GET', {}, undefined, signal);
    }
    if (res.status === 404) {
      drain(res.body);
      throw new RefusedError(`${this.display} does not hold blob ${desc.digest}`, 'push the artifact again: the registry lost or never received this blob');
    }
    if (res.status !== 200) throw await unexpected(this.display, `GET blob ${desc.digest.slice(0, 19)}`, res);
    return res.body;
  }

  async putManifest(bytes: Buffer, mediaType: string, tag?: string, signal?: AbortSignal): Promise<string> {
    return (await this.putManifestReply(bytes, mediaType, tag, signal)).digest;
  }

  private async putManifestReply(bytes: Buffer, mediaType: string, tag: string | undefined, signal?: AbortSignal): Promise<{ digest: string; subject?: string }> {
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    const res = await this.request('PUT', this.path('manifests', tag ?? digest), { headers: { 'content-type': mediaType }, body: () => bytes, signal });
    if (res.status !== 201) throw await unexpected(this.display, `PUT manifest ${tag ?? digest.slice(0, 19)}`, res);
    drain(res.body);
    const echoed = res.headers['docker-content-digest'];
    if (typeof echoed === 'string' && echoed && echoed !== digest) throw new RefusedError(`${this.display} stored the manifest under ${echoed}, not ${digest}`, 'the registry rewrote the manifest: use a registry that stores manifests as sent');
    return { digest, subject: res.headers['oci-subject'] as string | undefined };
  }

  async getManifest(reference: string, signal?: AbortSignal): Promise<FetchedManifest> {
    const res = await this.request('GET', this.path('manifests', reference), { headers: { accept: ACCEPT }, signal });
    if (res.status === 404) {
      drain(res.body);
      throw new IoError(`${this.display} has no manifest ${reference}`, 'check the tag or digest (`skopeo list-tags docker://HOST/REPO` lists the tags)');
    }
    if (res.status !== 200) throw await unexpected(this.display, `GET manifest ${reference}`, res);
    const bytes = await readLimited(res.body, MAX_MANIFEST_BYTES, `the manifest ${reference}`);
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    if (DIGEST.test(reference) && digest !== reference) {
      throw new RefusedError(`${this.display}: the manifest served for ${reference} has digest ${digest}: refused`, 'the registry served other bytes than asked for: do not trust this registry\'s copy');
    }
    return { bytes, digest, mediaType: String(res.headers['content-type'] ?? '').split(';')[0].trim() };
  }

  async putReferrer(bytes: Buffer, mediaType: string, artifactType: string, subject: Descriptor, annotations?: Record<string, string>, signal?: AbortSignal): Promise<string> {
    const put = await this.putManifestReply(bytes, mediaType, undefined, signal);
    if (put.subject === subject.digest) return put.digest; // the registry indexes referrers itself
    // Tag schema fallback (distribution-spec 1.1): an index tagged sha256-HEX lists the referrers.
    const tag = `sha256-${hexOf(subject.digest)}`;
    const index = await this.fallbackIndex(tag, signal);
    if (!index.manifests.some((d) => d.digest === put.digest)) {
      index.manifests.push({ mediaType, digest: put.digest, size: bytes.length, artifactType, ...(annotations ? { annotations } : {}) });
      await this.putManifest(Buffer.from(JSON.stringify(index)), OCI_INDEX, tag, signal);
    }
    return put.digest;
  }

  private async fallbackIndex(tag: string, signal?: AbortSignal): Promise<ImageIndex> {
    let fetched: FetchedManifest;
    try {
      fetched = await this.getManifest(tag, signal);
    } catch (err) {
      if (err instanceof IoError) return { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] };
      throw err;
    }
    return parseIndex(fetched.bytes, `${this.display}:${tag}`);
  }

  async listTags(signal?: AbortSignal): Promise<string[]> {
    const tags: string[] = [];
    let next: string | undefined = `/v2/${this.repository}/tags/list?n=1000`;
    for (let page = 0; next && page < 50; page++) {
      const res = await this.request('GET', next, { headers: { accept: 'application/json' }, signal });
      if (res.status === 404) {
        drain(res.body);
        return tags;
      }
      if (res.status !== 200) throw await unexpected(this.display, 'GET tags', res);
      const body = JSON.parse((await readLimited(res.body, MAX_MANIFEST_BYTES, 'the tag list')).toString('utf8')) as { tags?: unknown };
      if (Array.isArray(body.tags)) tags.push(...body.tags.filter((t): t is string => typeof t === 'string'));
      // Pagination (distribution-spec): Link: </v2/...?last=x&n=1000>; rel="next"
      next = /<([^>]+)>\s*;\s*rel="?next"?/.exec(String(res.headers.link ?? ''))?.[1];
    }
    return tags;
  }

  async referrers(digest: string, signal?: AbortSignal): Promise<Descriptor[]> {
    const res = await this.request('GET', this.path('referrers', digest), { headers: { accept: OCI_INDEX }, signal });
    if (res.status === 200) {
      const body = await readLimited(res.body, MAX_MANIFEST_BYTES, 'the referrers index');
      return parseIndex(body, `${this.display} referrers of ${digest}`).manifests;
    }
    drain(res.body);
    if (res.status !== 404 && res.status !== 400 && res.status !== 405) throw await unexpected(this.display, 'GET referrers', res);
    return (await this.fallbackIndex(`sha256-${hexOf(digest)}`, signal)).manifests;
  }
}

/** An index from untrusted bytes: malformed entries are dropped, a malformed whole is refused. */
export function parseIndex(bytes: Buffer, what: string): ImageIndex {
  let value: ImageIndex;
  try {
    value = JSON.parse(bytes.toString('utf8')) as ImageIndex;
  } catch {
    throw new RefusedError(`${what} is not JSON`);
  }
  if (!value || !Array.isArray(value.manifests)) throw new RefusedError(`${what} is not an OCI index`);
  return { ...value, manifests: value.manifests.filter(isDescriptor) };
}

function rangeEnd(range: string | undefined): number | undefined {
  const m = /^(?:bytes=)?0-(\d+)$/.exec(range?.trim() ?? '');
  return m ? Number(m[1]) + 1 : undefined;
}

function unreachable(host: string, err: ConnectionError): SovereignError {
  return new IoError(`cannot reach the registry ${host}: ${err.message}`, 'check the host and port, and that the registry is running');
}

async function errorDetail(res: Reply): Promise<string> {
  try {
    const text = (await readLimited(res.body, 64 * 1024, 'the error')).toString('utf8');
    const parsed = JSON.parse(text) as { errors?: { code?: string; message?: string }[] };
    return (parsed.errors ?? []).map((e) => [e.code, e.message].filter(Boolean).join(': ')).join('; ').slice(0, 300);
  } catch {
    return '';
  }
}

async function unexpected(display: string, what: string, res: Reply): Promise<SovereignError> {
  const detail = await errorDetail(res);
  const refused = res.status >= 400 && res.status < 500;
  const message = `${display}: ${what} answered HTTP ${res.status}${detail ? ` (${detail})` : ''}`;
  return refused ? new RefusedError(message, 'the registry refused the request; see its message') : new IoError(message, 'the registry failed; try again, or check its logs');
}
