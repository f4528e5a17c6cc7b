/** OpenSSF Model Signing (OMS v1.0) keyed signatures: EC P-256, Sigstore bundle, DSSE, in-toto. */
export { generateKeys, loadPrivateKey, loadPublicKey, loadKeyring, keyIdOf, type TrustedKey, type GeneratedKeys } from './keys';
export { signModel, verifyModel, hashModel, defaultSignaturePath, DEFAULT_IGNORE_PATHS, type SignResult, type VerifyResult, type VerifyOptions, type VerifyFailure } from './model';
export { buildStatement, signStatement, verifyBundle, parseBundle, subjectDigest, pae, type Bundle, type Statement, type Resource } from './oms';
