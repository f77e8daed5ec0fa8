//! Writes `packages/uring-machine/src/native.generated.ts` from the op table
//! ([`uring_machine_core::table`]): every `js` function's JS argument list in
//! the order the bridge reads it, its TypeScript signature, its syscall
//! name(s), result kind, minimum kernel and io_uring opcode.
//!
//! ```text
//! cargo run -q --release -p uring-machine-core --example gen_native [OUT]
//! ```
//!
//! With OUT (a path, or `-` for stdout) it writes there; without, to the
//! checked-in file. `npm run gen` runs it; `scripts/check-generated.mjs`
//! compares its stdout with the checked-in file.
//!
//! The table is read by expanding `for_each_op!` with a macro that
//! stringifies each entry: nothing here parses Rust source. The argument
//! kinds a `js` entry may use, and the JS arguments each one stands for,
//! are the `KINDS` list below (the bridge's conversions in
//! crates/node/src/ops/gen.rs read the same ones); an unknown kind stops
//! the generator with its name.

use std::fmt::Write as _;

/// One `js` function of the table.
struct JsFn {
    name: &'static str,
    args: &'static [(&'static str, &'static str)],
    result: &'static str,
    syscalls: &'static [&'static str],
    kernel: &'static str,
    opcode: u8,
    variant: &'static str,
}

macro_rules! collect {
    ($(
        $(#[$doc:meta])*
        $V:ident $({ $($f:ident : $t:ty),* $(,)? })? => {
            opcode: $oc:ident,
            syscall: $sys0:literal $(| $sysn:literal)* $(=> $pick:expr)?,
            kernel: $kernel:literal,
            sqe: $sqe:expr,
            $(fallback: $fb:expr,)?
            $(fallback_when: |$fr:ident| $fw:expr,)?
            $(result: |$r:ident| $mr:expr,)?
            $(output: $okind:ident => |$n:ident| $out:expr,)?
            $(produces_fd: $pfd:literal,)?
            $(waits_writable: $ww:expr,)?
            $(multishot: $bg:expr,)?
            $(recycle: |$rf:ident| $rc:expr,)?
            js: [$($js:ident($($arg:ident : $kind:ident),* $(,)?) -> $res:ident => $build:expr),* $(,)?] $(,)?
        }
    )*) => {
        &[$(collect!(@fns $V, $oc, [$sys0 $(, $sysn)*], $kernel, $($js($($arg : $kind),*) -> $res),*)),*]
    };
    (@fns $V:ident, $oc:ident, $sys:tt, $kernel:literal, $($js:ident($($arg:ident : $kind:ident),*) -> $res:ident),*) => {
        &[$(
            JsFn {
                name: stringify!($js),
                args: &[$((stringify!($arg), stringify!($kind))),*],
                result: stringify!($res),
                syscalls: &$sys,
                kernel: $kernel,
                opcode: io_uring::opcode::$oc::CODE,
                variant: stringify!($V),
            },
        )*]
    };
}

const TABLE: &[&[JsFn]] = uring_machine_core::for_each_op!(collect);

/// An argument kind: its name, the JS arguments it takes (`$` is the
/// table's argument name, camelCased) with their TypeScript types, and
/// what the bridge does with them.
type Kind = (&'static str, &'static [(&'static str, &'static str)], &'static str);

/// Each argument kind.
const KINDS: &[Kind] = &[
    ("Fd", &[("$", "number")], "a file descriptor (int32)"),
    ("I32", &[("$", "number")], "an int32"),
    ("U32", &[("$", "number")], "a uint32"),
    ("U16", &[("$", "number")], "a uint32, truncated to 16 bits"),
    ("Bool", &[("$", "boolean")], "a boolean"),
    ("Position", &[("$", "number")], "a file position; negative: the fd's own"),
    ("Offset", &[("$", "number")], "a splice offset; negative: the fd's own (-1)"),
    ("Size", &[("$", "number")], "a byte count or offset in 0..=2^63-1, else bad argument"),
    ("Count", &[("$", "number")], "a byte count above 0, else bad argument"),
    ("Millis", &[("ms", "number")], "milliseconds (the Rust value is ns; not finite or <= 0: 0)"),
    ("Path", &[("$", "string | Uint8Array")], "a path (no NUL)"),
    ("Name", &[("$", "string")], "a name or host (no NUL)"),
    (
        "Into",
        &[("view", "ArrayBufferView"), ("offset", "number"), ("length", "number")],
        "bytes land in view[offset..] at completion",
    ),
    (
        "From",
        &[("view", "ArrayBufferView"), ("offset", "number"), ("length", "number")],
        "a copy of view[offset..offset+length], taken now",
    ),
    ("IntoVecs", &[("views", "readonly ArrayBufferView[]")], "1..=1024 views, filled in order at completion"),
    ("FromVecs", &[("views", "readonly ArrayBufferView[]")], "1..=1024 views, copied now"),
    ("Addr", &[("host", "string | Uint8Array"), ("port", "number")], "an IP address and port; port < 0: a unix path"),
    ("Futex", &[("word", "Int32Array"), ("index", "number")], "word[index] of an Int32Array over a SharedArrayBuffer"),
    (
        "Fixed",
        &[("id", "number"), ("index", "number"), ("offset", "number"), ("length", "number")],
        "a range of registered buffer `index` of registration `id`",
    ),
    ("DupFd", &[("$", "number")], "an fd the op duplicates and owns"),
];

/// The result kinds, in the order of their numbers (completion.ts settles by them).
const RESULTS: &[(&str, &str, &str)] = &[
    ("Void", "VOID", "settles with undefined"),
    ("Number", "NUMBER", "settles with the result"),
    ("Stat", "STAT", "statx fields written to the typed array at dsts[slot]"),
    ("FutexWait", "FUTEX_WAIT", "true when woken, false if the word differed (-EAGAIN)"),
    ("Child", "CHILD", "[pid, code, status] written to the Float64Array at dsts[slot]"),
    ("Stream", "STREAM", "multishot: each completion but the last flagged MORE"),
    ("Resolve", "RESOLVE", "addresses pushed onto the array at dsts[slot]"),
];

fn camel(s: &str) -> String {
    let mut out = String::new();
    let mut up = false;
    for c in s.chars() {
        if c == '_' {
            up = true;
        } else if up {
            out.extend(c.to_uppercase());
            up = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// The JS arguments of `f`, in bridge order, as (name, type).
fn js_args(f: &JsFn) -> Vec<(String, &'static str)> {
    let mut out: Vec<(String, &'static str)> = Vec::new();
    for (arg, kind) in f.args {
        let Some((_, params, _)) = KINDS.iter().find(|(k, _, _)| k == kind) else {
            panic!("{}: argument `{arg}` has kind `{kind}`, which gen_native (and the bridge) do not know", f.name)
        };
        for (name, ty) in *params {
            let name = if *name == "$" { camel(arg) } else { name.to_string() };
            assert!(!out.iter().any(|(n, _)| *n == name), "{}: two JS arguments named `{name}`", f.name);
            out.push((name, ty));
        }
    }
    if f.result != "Stream" {
        out.push(("timeout".into(), "number"));
    }
    out
}

fn result_number(f: &JsFn) -> usize {
    RESULTS
        .iter()
        .position(|(r, _, _)| *r == f.result)
        .unwrap_or_else(|| panic!("{}: result kind `{}` is not one completion.ts settles", f.name, f.result))
}

fn generate() -> String {
    let mut s = String::new();
    let w = &mut s;
    w.push_str(
        "// Generated from the op table (crates/core/src/table.rs) by `npm run gen`\n\
         // (crates/core/examples/gen_native.rs). Do not edit: CI's\n\
         // scripts/check-generated.mjs fails when this file differs from what the\n\
         // table generates.\n\n",
    );
    w.push_str("// The result kinds: how completion.ts settles an op's promise.\n");
    for (i, (_, c, doc)) in RESULTS.iter().enumerate() {
        writeln!(w, "/** {doc} */\nexport const {c} = {i}").unwrap();
    }
    w.push_str("export type ResultKind = ");
    w.push_str(&(0..RESULTS.len()).map(|i| i.to_string()).collect::<Vec<_>>().join(" | "));
    w.push_str("\n\n");

    w.push_str(
        "/**\n * The op functions the op table declares (crates/node/src/ops/gen.rs); each\n \
         * returns the op's slot or a negative code. Every one but a multishot\n \
         * (Stream) one takes a trailing timeout in ms (0: none).\n */\nexport interface TableOps {\n",
    );
    for f in TABLE.iter().flat_map(|fs| fs.iter()) {
        let args = js_args(f);
        writeln!(w, "  /** {} ({}, kernel {}) */", f.syscalls.join(" | "), f.variant, f.kernel).unwrap();
        let list: Vec<String> = args.iter().map(|(n, t)| format!("{n}: {t}")).collect();
        writeln!(w, "  {} ({}): number", f.name, list.join(", ")).unwrap();
    }
    w.push_str("}\n\n");

    w.push_str(
        "/** What the op table says of one js function. */\nexport interface OpInfo {\n  \
         /** The `syscall` of its errors (the first, when the op picks one of several). */\n  \
         readonly syscall: string\n  readonly syscalls: readonly string[]\n  \
         readonly result: ResultKind\n  /** The oldest kernel whose io_uring has the op. */\n  \
         readonly kernel: string\n  readonly opcode: number\n  \
         /** The JS arguments, in the order the bridge reads them. */\n  readonly args: readonly string[]\n}\n\n",
    );
    w.push_str("/** Every js function of the op table, by name. */\nexport const OPS = {\n");
    for f in TABLE.iter().flat_map(|fs| fs.iter()) {
        let args: Vec<String> = js_args(f).iter().map(|(n, _)| format!("'{n}'")).collect();
        let sys: Vec<String> = f.syscalls.iter().map(|s| format!("'{s}'")).collect();
        writeln!(
            w,
            "  {}: {{ syscall: '{}', syscalls: [{}], result: {}, kernel: '{}', opcode: {}, args: [{}] }},",
            f.name,
            f.syscalls[0],
            sys.join(", "),
            RESULTS[result_number(f)].1,
            f.kernel,
            f.opcode,
            args.join(", ")
        )
        .unwrap();
    }
    w.push_str("} as const satisfies Record<keyof TableOps, OpInfo>\n");
    s
}

fn main() {
    let out = generate();
    let arg = std::env::args().nth(1);
    match arg.as_deref() {
        Some("-") => print!("{out}"),
        path => {
            let default = concat!(env!("CARGO_MANIFEST_DIR"), "/../../packages/uring-machine/src/native.generated.ts");
            let path = path.unwrap_or(default);
            std::fs::write(path, out).unwrap_or_else(|e| panic!("{path}: {e}"));
        }
    }
}
