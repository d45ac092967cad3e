//! `#[ringolo::compat::main]` and `#[ringolo::compat::test]`: Tokio's attributes, with Tokio's
//! arguments, defaults, expansion shape and compile errors, building a
//! `ringolo::compat::runtime::Builder` runtime.
//!
//! Arguments: `flavor = "current_thread" | "multi_thread" | "local"` (main defaults to
//! multi-thread, test to current-thread), `worker_threads = N` (multi-thread only),
//! `start_paused = bool` and `unhandled_panic = "ignore" | "shutdown_runtime"` (not
//! multi-thread), `name = "..."`, `crate = "path::to::compat"`.

use proc_macro2::{Delimiter, Group, Ident, Span, TokenStream as TokenStream2};
use quote::{quote, quote_spanned, ToTokens};
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::{Attribute, Expr, Lit, Meta, Path, ReturnType, Token, Type};

use crate::{respan, AsyncFn};

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Main,
    Test,
}

impl Kind {
    fn macro_name(self) -> &'static str {
        match self {
            Kind::Main => "tokio::main",
            Kind::Test => "tokio::test",
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Flavor {
    CurrentThread,
    MultiThread,
    Local,
}

struct Config {
    flavor: Flavor,
    worker_threads: Option<(usize, Span)>,
    start_paused: Option<(bool, Span)>,
    unhandled_panic: Option<(Ident, Span)>,
    name: Option<String>,
    krate: Option<Path>,
}

impl Config {
    /// What an item with bad arguments is still expanded with (as Tokio does), so tools see
    /// the function next to the error.
    fn fallback() -> Config {
        Config {
            flavor: Flavor::CurrentThread,
            worker_threads: None,
            start_paused: None,
            unhandled_panic: None,
            name: None,
            krate: None,
        }
    }
}

#[derive(Default)]
struct RawConfig {
    flavor: Option<(Flavor, Span)>,
    worker_threads: Option<(usize, Span)>,
    start_paused: Option<(bool, Span)>,
    unhandled_panic: Option<(Ident, Span)>,
    name: Option<String>,
    krate: Option<Path>,
}

fn lit_str(lit: &Lit, field: &str) -> syn::Result<String> {
    match lit {
        Lit::Str(s) => Ok(s.value()),
        Lit::Verbatim(s) => Ok(s.to_string()),
        _ => Err(syn::Error::new_spanned(
            lit,
            format!("Failed to parse value of `{field}` as string."),
        )),
    }
}

fn lit_int(lit: &Lit, field: &str) -> syn::Result<usize> {
    match lit {
        Lit::Int(i) => i.base10_parse::<usize>().map_err(|e| {
            syn::Error::new_spanned(
                lit,
                format!("Failed to parse value of `{field}` as integer: {e}"),
            )
        }),
        _ => Err(syn::Error::new_spanned(
            lit,
            format!("Failed to parse value of `{field}` as integer."),
        )),
    }
}

fn lit_bool(lit: &Lit, field: &str) -> syn::Result<bool> {
    match lit {
        Lit::Bool(b) => Ok(b.value),
        _ => Err(syn::Error::new_spanned(
            lit,
            format!("Failed to parse value of `{field}` as bool."),
        )),
    }
}

fn lit_path(lit: &Lit, field: &str) -> syn::Result<Path> {
    match lit {
        Lit::Str(s) => s.parse::<Path>().map_err(|_| {
            syn::Error::new_spanned(
                lit,
                format!(
                    "Failed to parse value of `{field}` as path: \"{}\"",
                    s.value()
                ),
            )
        }),
        _ => Err(syn::Error::new_spanned(
            lit,
            format!("Failed to parse value of `{field}` as path."),
        )),
    }
}

fn set_once<T>(slot: &mut Option<T>, value: T, name: &str, span: Span) -> syn::Result<()> {
    if slot.is_some() {
        return Err(syn::Error::new(
            span,
            format!("`{name}` set multiple times."),
        ));
    }
    *slot = Some(value);
    Ok(())
}

impl RawConfig {
    fn set(&mut self, key: &str, lit: &Lit, span: Span) -> syn::Result<()> {
        match key {
            "worker_threads" => {
                let n = lit_int(lit, "worker_threads")?;
                if n == 0 {
                    return Err(syn::Error::new(span, "`worker_threads` may not be 0."));
                }
                set_once(&mut self.worker_threads, (n, span), key, span)
            }
            "flavor" => {
                let value = lit_str(lit, "flavor")?;
                let flavor = match value.as_str() {
                    "current_thread" => Flavor::CurrentThread,
                    "multi_thread" => Flavor::MultiThread,
                    "local" => Flavor::Local,
                    "single_thread" => {
                        return Err(syn::Error::new(
                            span,
                            "The single threaded runtime flavor is called `current_thread`.",
                        ))
                    }
                    "basic_scheduler" => {
                        return Err(syn::Error::new(
                            span,
                            "The `basic_scheduler` runtime flavor has been renamed to \
                             `current_thread`.",
                        ))
                    }
                    "threaded_scheduler" => {
                        return Err(syn::Error::new(
                            span,
                            "The `threaded_scheduler` runtime flavor has been renamed to \
                             `multi_thread`.",
                        ))
                    }
                    other => {
                        return Err(syn::Error::new(
                            span,
                            format!(
                                "No such runtime flavor `{other}`. The runtime flavors are \
                                 `current_thread`, `local`, and `multi_thread`."
                            ),
                        ))
                    }
                };
                set_once(&mut self.flavor, (flavor, span), key, span)
            }
            "start_paused" => {
                let b = lit_bool(lit, "start_paused")?;
                set_once(&mut self.start_paused, (b, span), key, span)
            }
            "crate" => {
                let path = lit_path(lit, "crate")?;
                set_once(&mut self.krate, path, key, span)
            }
            "unhandled_panic" => {
                let value = lit_str(lit, "unhandled_panic")?;
                let variant = match value.as_str() {
                    "ignore" => "Ignore",
                    "shutdown_runtime" => "ShutdownRuntime",
                    other => {
                        return Err(syn::Error::new(
                            span,
                            format!(
                                "No such unhandled panic behavior `{other}`. The unhandled panic \
                                 behaviors are `ignore` and `shutdown_runtime`."
                            ),
                        ))
                    }
                };
                let ident = Ident::new(variant, span);
                set_once(&mut self.unhandled_panic, (ident, span), key, span)
            }
            "name" => {
                let name = lit_str(lit, "name")?;
                set_once(&mut self.name, name, key, span)
            }
            "core_threads" => Err(syn::Error::new(
                span,
                "Attribute `core_threads` is renamed to `worker_threads`",
            )),
            other => Err(unknown(other, span)),
        }
    }

    fn build(self, kind: Kind) -> syn::Result<Config> {
        let default = match kind {
            Kind::Main => Flavor::MultiThread,
            Kind::Test => Flavor::CurrentThread,
        };
        let flavor = self.flavor.map_or(default, |(f, _)| f);
        let macro_name = kind.macro_name();
        if let (Some((_, span)), true) = (self.worker_threads, flavor != Flavor::MultiThread) {
            return Err(syn::Error::new(
                span,
                format!(
                    "The `worker_threads` option requires the `multi_thread` runtime flavor. Use \
                     `#[{macro_name}(flavor = \"multi_thread\")]`"
                ),
            ));
        }
        if let (Some((_, span)), true) = (self.start_paused, flavor == Flavor::MultiThread) {
            return Err(syn::Error::new(
                span,
                format!(
                    "The `start_paused` option requires the `current_thread` runtime flavor. Use \
                     `#[{macro_name}(flavor = \"current_thread\")]`"
                ),
            ));
        }
        if let (Some((_, span)), true) = (&self.unhandled_panic, flavor == Flavor::MultiThread) {
            return Err(syn::Error::new(
                *span,
                format!(
                    "The `unhandled_panic` option requires the `current_thread` runtime flavor. \
                     Use `#[{macro_name}(flavor = \"current_thread\")]`"
                ),
            ));
        }
        Ok(Config {
            flavor,
            worker_threads: self.worker_threads,
            start_paused: self.start_paused,
            unhandled_panic: self.unhandled_panic,
            name: self.name,
            krate: self.krate,
        })
    }
}

fn unknown(name: &str, span: Span) -> syn::Error {
    syn::Error::new(
        span,
        format!(
            "Unknown attribute {name} is specified; expected one of: `flavor`, `worker_threads`, \
             `start_paused`, `crate`, `unhandled_panic`, `name`."
        ),
    )
}

fn parse_config(kind: Kind, args: TokenStream2) -> syn::Result<Config> {
    let metas = Punctuated::<Meta, Token![,]>::parse_terminated.parse2(args)?;
    let macro_name = kind.macro_name();
    let mut raw = RawConfig::default();
    for meta in metas {
        match meta {
            Meta::NameValue(nv) => {
                let Some(ident) = nv.path.get_ident() else {
                    return Err(syn::Error::new_spanned(&nv, "Must have specified ident"));
                };
                let key = ident.to_string().to_lowercase();
                let lit = match &nv.value {
                    Expr::Lit(e) => &e.lit,
                    other => return Err(syn::Error::new_spanned(other, "Must be a literal")),
                };
                raw.set(&key, lit, syn::spanned::Spanned::span(lit))?;
            }
            Meta::Path(path) => {
                let name = path
                    .get_ident()
                    .ok_or_else(|| syn::Error::new_spanned(&path, "Must have specified ident"))?
                    .to_string()
                    .to_lowercase();
                let msg = match name.as_str() {
                    "threaded_scheduler" | "multi_thread" => format!(
                        "Set the runtime flavor with #[{macro_name}(flavor = \"multi_thread\")]."
                    ),
                    "basic_scheduler" | "current_thread" | "single_threaded" => format!(
                        "Set the runtime flavor with #[{macro_name}(flavor = \"current_thread\")]."
                    ),
                    "flavor" | "worker_threads" | "start_paused" | "crate" | "unhandled_panic"
                    | "name" => format!("The `{name}` attribute requires an argument."),
                    other => return Err(unknown(other, syn::spanned::Spanned::span(&path))),
                };
                return Err(syn::Error::new_spanned(path, msg));
            }
            other => {
                return Err(syn::Error::new_spanned(
                    other,
                    "Unknown attribute inside the macro",
                ))
            }
        }
    }
    raw.build(kind)
}

/// `#[test]`, `#[core::prelude::*::test]`, `#[std::prelude::*::test]` and their `::` forms.
fn is_test_attribute(attr: &Attribute) -> bool {
    let path = attr.path();
    let segs: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
    match segs.as_slice() {
        [only] => only == "test",
        [root, prelude, _, last] => {
            (root == "core" || root == "std") && prelude == "prelude" && last == "test"
        }
        _ => false,
    }
}

fn with_error(tokens: TokenStream2, error: syn::Error) -> TokenStream2 {
    let error = error.into_compile_error();
    quote!(#tokens #error)
}

pub(crate) fn expand(kind: Kind, args: TokenStream2, item: TokenStream2) -> TokenStream2 {
    let input: AsyncFn = match syn::parse2(item.clone()) {
        Ok(input) => input,
        Err(error) => return with_error(item, error),
    };
    if input.sig.asyncness.is_none() {
        let error = syn::Error::new_spanned(
            input.sig.fn_token,
            "the `async` keyword is missing from the function declaration",
        );
        return with_error(item, error);
    }
    if kind == Kind::Main && input.sig.ident == "main" && !input.sig.inputs.is_empty() {
        let error = syn::Error::new_spanned(
            &input.sig.ident,
            "the main function cannot accept arguments",
        );
        return with_error(item, error);
    }
    if kind == Kind::Test {
        if let Some(attr) = input.attrs.iter().find(|a| is_test_attribute(a)) {
            let error = syn::Error::new_spanned(
                attr,
                "second test attribute is supplied, consider removing or changing the order of \
                 your test attributes",
            );
            return with_error(item, error);
        }
    }
    match parse_config(kind, args) {
        Ok(config) => generate(kind, input, &config),
        Err(error) => with_error(generate(kind, input, &Config::fallback()), error),
    }
}

/// Whether the check block that ties the body's output to the return type can be written for
/// `ty` (not for `!`, nor for types naming `impl Trait`).
fn can_check(ty: &Type) -> bool {
    if matches!(ty, Type::Never(_)) {
        return false;
    }
    !ty.to_token_stream()
        .into_iter()
        .any(|tt| matches!(&tt, proc_macro2::TokenTree::Ident(i) if i == "impl"))
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

    let last_span = body
        .clone()
        .into_iter()
        .last()
        .map_or_else(|| brace_token.span.close(), |tt| tt.span());
    let krate = match &config.krate {
        Some(path) => path.to_token_stream(),
        None => default_crate_path(),
    };
    let krate = respan(krate, last_span);

    let mut builder = match config.flavor {
        Flavor::MultiThread => {
            quote_spanned!(last_span=> #krate::runtime::Builder::new_multi_thread())
        }
        Flavor::CurrentThread | Flavor::Local => {
            quote_spanned!(last_span=> #krate::runtime::Builder::new_current_thread())
        }
    };
    if let Some((n, _)) = config.worker_threads {
        builder.extend(quote_spanned!(last_span=> .worker_threads(#n)));
    }
    if let Some((b, _)) = config.start_paused {
        builder.extend(quote_spanned!(last_span=> .start_paused(#b)));
    }
    if let Some((variant, _)) = &config.unhandled_panic {
        builder.extend(
            quote_spanned!(last_span=> .unhandled_panic(#krate::runtime::UnhandledPanic::#variant)),
        );
    }
    if let Some(name) = &config.name {
        builder.extend(quote_spanned!(last_span=> .name(#name)));
    }
    let build = match config.flavor {
        Flavor::Local => {
            quote_spanned!(last_span=> .build_local(::core::default::Default::default()))
        }
        _ => quote_spanned!(last_span=> .build()),
    };

    let output_ty = match &sig.output {
        ReturnType::Default => quote!(()),
        ReturnType::Type(_, ty) => quote!(#ty),
    };
    let checkable = match &sig.output {
        ReturnType::Default => true,
        ReturnType::Type(_, ty) => can_check(ty),
    };

    let mut body_group = Group::new(Delimiter::Brace, body);
    body_group.set_span(brace_token.span.join());
    let body_ident = Ident::new("body", Span::call_site());

    let pin_body = match kind {
        Kind::Test => quote! {
            #krate::pin!(#body_ident);
            let #body_ident: ::core::pin::Pin<&mut dyn ::core::future::Future<Output = #output_ty>> = #body_ident;
        },
        Kind::Main if checkable => quote! {
            let #body_ident = {
                if false {
                    let _: &dyn ::core::future::Future<Output = #output_ty> = &#body_ident;
                }
                #body_ident
            };
        },
        Kind::Main => quote!(),
    };

    let tail = quote_spanned! {last_span=>
        #[allow(
            clippy::expect_used,
            clippy::diverging_sub_expression,
            clippy::needless_return,
            clippy::unwrap_in_result
        )]
        {
            return #builder
                .enable_all()
                #build
                .expect("Failed building the Runtime")
                .block_on(#body_ident);
        }
    };

    let inner_as_outer = inner_attrs.iter().map(|a| {
        let mut a = a.clone();
        a.style = syn::AttrStyle::Outer;
        a
    });
    let test_attr = match kind {
        Kind::Test => quote!(#[::core::prelude::v1::test]),
        Kind::Main => quote!(),
    };

    quote! {
        #(#attrs)*
        #(#inner_as_outer)*
        #test_attr
        #vis #sig {
            let #body_ident = async #body_group;
            #pin_body
            #tail
        }
    }
}

/// The path of the compat API when no `crate = ".."` is given: the drop-in crate under the
/// name the calling crate gave it (`tokio = { package = "ringolo-compat" }` makes it
/// `::tokio`), else `::ringolo::compat`.
fn default_crate_path() -> proc_macro2::TokenStream {
    use proc_macro_crate::{crate_name, FoundCrate};
    match crate_name("ringolo-compat") {
        Ok(FoundCrate::Name(name)) => {
            let ident = proc_macro2::Ident::new(&name, proc_macro2::Span::call_site());
            quote!(::#ident)
        }
        // The drop-in crate's own tests and doc examples.
        Ok(FoundCrate::Itself) => quote!(::ringolo_compat),
        Err(_) => quote!(::ringolo::compat),
    }
}
