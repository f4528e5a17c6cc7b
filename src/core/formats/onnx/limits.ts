/** Bounds on what the ONNX reader accepts or walks: an untrusted model must not exhaust time or memory. */

/**
 * Protocol buffers cannot exceed 2 GiB (protobuf's own hard limit; ONNX puts larger weights in external
 * data). The reader holds the file in memory, so larger files are refused without reading them.
 */
export const MAX_ONNX_PROTO_BYTES = 2 ** 31 - 1;

/** Subgraph nesting (If/Loop/Scan bodies inside bodies) walked before the reader gives up. */
export const MAX_SUBGRAPH_DEPTH = 32;

/** Distinct external data files resolved on disk (each costs a few lstat calls). */
export const MAX_EXTERNAL_LOCATIONS = 4096;

/** Findings kept per rule; the rest are counted in one extra finding, so a hostile model cannot flood a report. */
export const MAX_FINDINGS_PER_RULE = 20;

/** Items listed in facts (inputs, outputs, external files...): the rest are counted. */
export const MAX_LISTED = 64;

/** Highest IR version this reader knows (ONNX 1.18+ writes 11; newer files are read, with a low finding). */
export const MAX_KNOWN_IR_VERSION = 12;
