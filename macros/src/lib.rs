//! Procedural macros for the `ringolo` runtime.
//!
//! This crate is re-exported by `ringolo`; use the macros as
//! `#[ringolo::main]` and `#[ringolo::test]` rather than depending on it
//! directly.

mod compat;

use proc_macro::TokenStream;
use proc_macro2::{Delimiter, Group, Ident, Span, TokenStream as TokenStream2, TokenTree};
use quote::{quote, quote_spanned, ToTokens};
use syn::parse::{Parse, ParseStream, Parser};
use syn::{braced, token, Attribute, LitBool, LitInt, LitStr, Path, Signature, Visibility};

/// Marks an `async fn main` to be run on a ringolo runtime.
///
/// The function is rewritten into a synchronous `fn main` that builds a
/// runtime and blocks on the original body. The return type is kept, so
/// `main` may return anything `main` normally can (e.g. `Result<(), E>`).
///
/// # Arguments
///
/// - `flavor = "multi_thread"` (the default for `main`, as in Tokio) or
///   `flavor = "current_thread"` (the default for `test`).
/// - `worker_threads = N`: worker threads of the multi-thread runtime
///   (default: one per CPU).
/// - `start_paused = true`: start the runtime with a paused clock
///   (current-thread runtime only).
/// - `crate = "path::to::ringolo"`: where to find the `ringolo` crate, for
///   when it is re-exported or renamed.
///
/// # Example
///
/// ```ignore
/// #[ringolo::main]
/// async fn main() -> std::io::Result<()> {
///     println!("hello from ringolo");
///     Ok(())
/// }
/// ```
///
/// With arguments:
///
/// ```ignore
/// #[ringolo::main(flavor = "current_thread", start_paused = true)]
/// async fn main() {
///     // ...
/// }
/// ```
#[proc_macro_attribute]
pub fn main(args: TokenStream, item: TokenStream) -> TokenStream {
    expand(Kind::Main, args.into(), item.into()).into()
}

/// Marks an `async fn` as a test to be run on a ringolo runtime.
///
/// A `#[test]` attribute is added automatically; writing one yourself is an
/// error. Other attributes such as `#[should_panic]` or `#[ignore]` are kept.
/// The test may return a type, e.g. `Result<(), E>`.
///
/// Accepts the same arguments as [`macro@main`].
///
/// # Example
///
/// ```ignore
/// #[ringolo::test]
/// async fn it_works() {
///     assert_eq!(2 + 2, 4);
/// }
///
/// #[ringolo::test(start_paused = true)]
/// #[should_panic]
/// async fn it_panics() {
///     panic!("boom");
/// }
/// ```
#[proc_macro_attribute]
pub fn test(args: TokenStream, item: TokenStream) -> TokenStream {
    expand(Kind::Test, args.into(), item.into()).into()
}

/// `#[ringolo::compat::main]`: Tokio's `#[tokio::main]`, on a `ringolo::compat` runtime.
///
/// The arguments, defaults (multi-thread), expansion and compile errors are Tokio's:
/// `flavor = "current_thread" | "multi_thread" | "local"`, `worker_threads = N`,
/// `start_paused = bool`, `unhandled_panic = "ignore" | "shutdown_runtime"`, `name = "..."`,
/// `crate = "path"` (the path of the compat module; by default the drop-in crate `ringolo-compat` under the name the calling crate gave it, such as `::tokio`, else `::ringolo::compat`).
#[proc_macro_attribute]
pub fn compat_main(args: TokenStream, item: TokenStream) -> TokenStream {
    compat::expand(compat::Kind::Main, args.into(), item.into()).into()
}

/// `#[ringolo::compat::test]`: Tokio's `#[tokio::test]`, on a `ringolo::compat` runtime
/// (current-thread by default; the arguments of [`macro@compat_main`]).
#[proc_macro_attribute]
pub fn compat_test(args: TokenStream, item: TokenStream) -> TokenStream {
    compat::expand(compat::Kind::Test, args.into(), item.into()).into()
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Main,
    Test,
}

impl Kind {
    fn helper(self) -> &'static str {
        match self {
            Kind::Main => "block_on_main",
            Kind::Test => "block_on_test",
        }
    }
}

const WORKER_THREADS_NEEDS_MULTI_THREAD: &str =
    "ringolo: the `worker_threads` option requires the `multi_thread` runtime flavor";

const START_PAUSED_NEEDS_CURRENT_THREAD: &str =
    "ringolo: the `start_paused` option requires the `current_thread` runtime flavor";

/// A function item whose body is kept as raw tokens: we never need to look
/// inside it, and not parsing it keeps the macro cheap and robust.
pub(crate) struct AsyncFn {
    pub(crate) attrs: Vec<Attribute>,
    pub(crate) vis: Visibility,
    pub(crate) sig: Signature,
    pub(crate) brace_token: token::Brace,
    pub(crate) inner_attrs: Vec<Attribute>,
    pub(crate) body: TokenStream2,
}

impl Parse for AsyncFn {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        let vis = input.parse()?;
        let sig = input.parse()?;
        let content;
        let brace_token = braced!(content in input);
        let inner_attrs = content.call(Attribute::parse_inner)?;
        let body = content.parse()?;
        Ok(AsyncFn {
            attrs,
            vis,
            sig,
            brace_token,
            inner_attrs,
            body,
        })
    }
}

/// Validated macro configuration.
struct Config {
    krate: Option<Path>,
    start_paused: Option<LitBool>,
    multi_thread: bool,
    worker_threads: Option<LitInt>,
}

/// Arguments as written, before validation.
#[derive(Default)]
struct RawArgs {
    /// The flavor name and the whole `flavor = "..."` tokens.
    flavor: Option<(String, TokenStream2)>,
    /// The whole `worker_threads = N` tokens, and the number.
    worker_threads: Option<(TokenStream2, LitInt)>,
    start_paused: Option<LitBool>,
    krate: Option<Path>,
}

impl RawArgs {
    fn parse_one(&mut self, meta: syn::meta::ParseNestedMeta) -> syn::Result<()> {
        if meta.path.is_ident("flavor") {
            if self.flavor.is_some() {
                return Err(meta.error("ringolo: duplicate `flavor` argument"));
            }
            let lit: LitStr = meta.value()?.parse()?;
            let value = lit.value();
            match value.as_str() {
                "current_thread" | "multi_thread" => {}
                other => {
                    return Err(syn::Error::new_spanned(
                        &lit,
                        format!(
                            "ringolo: unknown runtime flavor `{other}`; \
                             expected \"current_thread\" or \"multi_thread\""
                        ),
                    ))
                }
            }
            let path = &meta.path;
            self.flavor = Some((value, quote!(#path = #lit)));
        } else if meta.path.is_ident("worker_threads") {
            if self.worker_threads.is_some() {
                return Err(meta.error("ringolo: duplicate `worker_threads` argument"));
            }
            let lit: LitInt = meta.value()?.parse()?;
            if lit.base10_parse::<usize>()? == 0 {
                return Err(syn::Error::new_spanned(
                    &lit,
                    "ringolo: `worker_threads` may not be 0",
                ));
            }
            let path = &meta.path;
            self.worker_threads = Some((quote!(#path = #lit), lit));
        } else if meta.path.is_ident("start_paused") {
            if self.start_paused.is_some() {
                return Err(meta.error("ringolo: duplicate `start_paused` argument"));
            }
            self.start_paused = Some(meta.value()?.parse()?);
        } else if meta.path.is_ident("crate") {
            if self.krate.is_some() {
                return Err(meta.error("ringolo: duplicate `crate` argument"));
            }
            let value = meta.value()?;
            let path = if value.peek(LitStr) {
                let lit: LitStr = value.parse()?;
                lit.parse_with(Path::parse_mod_style)?
            } else {
                value.call(Path::parse_mod_style)?
            };
            self.krate = Some(path);
        } else {
            let name = meta
                .path
                .segments
                .iter()
                .map(|s| s.ident.to_string())
                .collect::<Vec<_>>()
                .join("::");
            return Err(syn::Error::new_spanned(
                &meta.path,
                format!(
                    "ringolo: unknown argument `{name}`; the accepted arguments are \
                     `flavor`, `worker_threads`, `start_paused` and `crate`"
                ),
            ));
        }
        Ok(())
    }

    /// Validates the arguments. Always returns a usable configuration (so the
    /// item can still be expanded), plus any errors found.
    fn validate(self, kind: Kind) -> (Config, Option<syn::Error>) {
        let mut errors = Errors::default();
        let multi_thread = match &self.flavor {
            Some((flavor, _)) => flavor == "multi_thread",
            None => kind == Kind::Main,
        };
        if let (false, Some((tokens, _))) = (multi_thread, &self.worker_threads) {
            errors.push(syn::Error::new_spanned(
                tokens,
                WORKER_THREADS_NEEDS_MULTI_THREAD,
            ));
        }
        if let (true, Some(lit)) = (multi_thread, &self.start_paused) {
            if lit.value {
                errors.push(syn::Error::new_spanned(
                    lit,
                    START_PAUSED_NEEDS_CURRENT_THREAD,
                ));
            }
        }
        let config = Config {
            krate: self.krate,
            start_paused: self.start_paused,
            multi_thread,
            worker_threads: self.worker_threads.map(|(_, lit)| lit),
        };
        (config, errors.into_inner())
    }
}

#[derive(Default)]
struct Errors(Option<syn::Error>);

impl Errors {
    fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(existing) => existing.combine(error),
            None => self.0 = Some(error),
        }
    }

    fn into_inner(self) -> Option<syn::Error> {
        self.0
    }
}

fn parse_args(kind: Kind, args: TokenStream2) -> (Config, Option<syn::Error>) {
    let mut raw = RawArgs::default();
    let parser = syn::meta::parser(|meta| raw.parse_one(meta));
    match parser.parse2(args) {
        Ok(()) => raw.validate(kind),
        Err(error) => {
            // Keep whatever was parsed before the error (notably `crate`), so
            // the expansion stays as close as possible to what was intended.
            let (config, _) = raw.validate(kind);
            (config, Some(error))
        }
    }
}

fn with_error(tokens: TokenStream2, error: Option<syn::Error>) -> TokenStream2 {
    match error {
        Some(error) => {
            let error = error.into_compile_error();
            quote!(#tokens #error)
        }
        None => tokens,
    }
}

fn is_test_attribute(attr: &Attribute) -> bool {
    let path = attr.path();
    let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
    match segments.as_slice() {
        [only] => only == "test",
        [first, .., last] => (first == "core" || first == "std") && last == "test",
        [] => false,
    }
}

fn expand(kind: Kind, args: TokenStream2, item: TokenStream2) -> TokenStream2 {
    let mut input: AsyncFn = match syn::parse2(item.clone()) {
        Ok(input) => input,
        // Emit the item untouched next to the error, so that tooling still
        // sees the function and does not report cascading errors.
        Err(error) => return with_error(item, Some(error)),
    };

    if input.sig.asyncness.is_none() {
        let error = syn::Error::new_spanned(
            input.sig.fn_token,
            "the `async` keyword is missing from the function declaration",
        );
        return with_error(item, Some(error));
    }

    if kind == Kind::Main && !input.sig.inputs.is_empty() {
        let error = syn::Error::new_spanned(
            &input.sig.inputs,
            "the `main` function cannot accept arguments",
        );
        return with_error(item, Some(error));
    }

    let (config, mut errors) = parse_args(kind, args);

    if kind == Kind::Test {
        if let Some(pos) = input.attrs.iter().position(is_test_attribute) {
            let attr = input.attrs.remove(pos);
            let error = syn::Error::new_spanned(
                attr,
                "the `#[test]` attribute is added automatically by `#[ringolo::test]`; \
                 remove it",
            );
            match &mut errors {
                Some(existing) => existing.combine(error),
                None => errors = Some(error),
            }
        }
    }

    with_error(generate(kind, input, &config), errors)
}

fn generate(kind: Kind, input: AsyncFn, config: &Config) -> TokenStream2 {
    let AsyncFn {
        attrs,
        vis,
        mut sig,
        brace_token,
        inner_attrs,
        body,
    } = input;
    sig.asyncness = None;

    let krate = match &config.krate {
        Some(path) => path.to_token_stream(),
        None => quote!(::ringolo),
    };

    let mut builder = if config.multi_thread {
        quote!(#krate::runtime::Builder::new_multi_thread())
    } else {
        quote!(#krate::runtime::Builder::new_current_thread())
    };
    if let Some(n) = &config.worker_threads {
        builder.extend(quote!(.worker_threads(#n)));
    }
    if let (Some(start_paused), false) = (&config.start_paused, config.multi_thread) {
        builder.extend(quote!(.start_paused(#start_paused)));
    }

    // Hygienic local so the user's body cannot observe or clash with it.
    let body_ident = Ident::new("__ringolo_body", Span::mixed_site());
    let helper = Ident::new(kind.helper(), Span::call_site());

    // Span the call on the last token of the body (where the tail expression
    // ends), so that a mismatch between the body's value and the declared
    // return type points at the user's code rather than at the attribute.
    let tail_span = body
        .clone()
        .into_iter()
        .last()
        .map_or_else(|| brace_token.span.close(), |tt| tt.span());
    let call_krate = respan(krate, tail_span);
    let call = quote_spanned! {tail_span=>
        #call_krate::__private::#helper(#builder, #body_ident)
    };

    // Keep the user's braces (and their span) around the original body.
    let mut body_group = Group::new(Delimiter::Brace, body);
    body_group.set_span(brace_token.span.join());

    let test_attr = match kind {
        Kind::Main => quote!(),
        Kind::Test => quote!(#[::core::prelude::v1::test]),
    };

    quote! {
        #test_attr
        #(#attrs)*
        #vis #sig {
            #(#inner_attrs)*
            let #body_ident = async move #body_group;
            #call
        }
    }
}

/// Sets the span of every token in `tokens` (recursively) to `span`.
pub(crate) fn respan(tokens: TokenStream2, span: Span) -> TokenStream2 {
    tokens
        .into_iter()
        .map(|mut tt| {
            if let TokenTree::Group(group) = &tt {
                let mut new = Group::new(group.delimiter(), respan(group.stream(), span));
                new.set_span(span);
                tt = TokenTree::Group(new);
            } else {
                tt.set_span(span);
            }
            tt
        })
        .collect()
}
