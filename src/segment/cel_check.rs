//! Static checks of a parsed audience: every function it calls exists in
//! the CEL standard library herald evaluates with, and the operators are
//! applied to values of kinds they accept, as far as the variables' kinds
//! are known (`country > 5`, `has_push + 1`, `purchases == "3"`, an
//! expression that is not true or false). Without these an audience would
//! compile and then fail, or be false, for every user at run time, and the
//! campaign would silently target nobody.
//!
//! The tree was depth-checked first ([`super::cel_limits`]), so the
//! recursion here is bounded.

use cel::common::ast::{CallExpr, Expr, IdedExpr, LiteralValue};

/// Functions of the CEL standard library (macros such as `has`, `all`,
/// `exists` and `map` are expanded by the parser and need no entry).
pub const FUNCTIONS: [&str; 25] = [
    "size",
    "contains",
    "startsWith",
    "endsWith",
    "matches",
    "int",
    "uint",
    "double",
    "string",
    "bytes",
    "bool",
    "type",
    "dyn",
    "duration",
    "timestamp",
    "getDate",
    "getDayOfMonth",
    "getDayOfWeek",
    "getDayOfYear",
    "getFullYear",
    "getHours",
    "getMilliseconds",
    "getMinutes",
    "getMonth",
    "getSeconds",
];

/// What is statically known of a value's kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `true` / `false`.
    Bool,
    /// A signed integer.
    Int,
    /// A floating-point number.
    Double,
    /// Text.
    String,
    /// A list.
    List,
    /// A map.
    Map,
    /// `null`.
    Null,
    /// Unknown until run time (attributes, fields, timestamps...).
    Any,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Bool => "a bool",
            Kind::Int => "an int",
            Kind::Double => "a double",
            Kind::String => "a string",
            Kind::List => "a list",
            Kind::Map => "a map",
            Kind::Null => "null",
            Kind::Any => "a value",
        }
    }

    fn numeric(self) -> bool {
        matches!(self, Kind::Int | Kind::Double)
    }

    fn known(self) -> bool {
        self != Kind::Any
    }
}

/// The kind of a built-in variable (`Any` for attributes and the rest).
pub fn variable_kind(name: &str) -> Kind {
    match name {
        "user_id" | "email" | "phone" | "timezone" | "locale" | "country" | "city" | "gender" => {
            Kind::String
        }
        "age" | "signup_at" | "segment" | "events" | "purchases" => Kind::Int,
        "revenue" | "days_since_purchase" | "days_since_last_event" | "days_since_signup" => {
            Kind::Double
        }
        "platforms" => Kind::List,
        "attributes" => Kind::Map,
        "has_push" | "has_ios" | "has_android" | "has_web" | "consent_push" | "consent_email"
        | "consent_sms" | "has_email" | "has_phone" => Kind::Bool,
        _ => Kind::Any,
    }
}

/// A problem found, at the node `id` of the tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// A call to a function that does not exist.
    UnknownFunction {
        /// Node of the call.
        id: u64,
        /// The function.
        name: String,
    },
    /// An operator applied to a kind it does not accept.
    Type {
        /// Node of the operation.
        id: u64,
        /// What is wrong.
        message: String,
    },
}

/// Checks `root`: known functions, operand kinds, a boolean result.
pub fn check(root: &IdedExpr) -> Result<(), Problem> {
    let kind = kind_of(root)?;
    if kind.known() && kind != Kind::Bool {
        return Err(Problem::Type {
            id: root.id,
            message: format!(
                "the audience must be true or false for a user, this expression gives {}",
                kind.name()
            ),
        });
    }
    Ok(())
}

fn kind_of(node: &IdedExpr) -> Result<Kind, Problem> {
    Ok(match &node.expr {
        Expr::Literal(literal) => literal_kind(literal),
        Expr::Ident(name) => variable_kind(name),
        Expr::List(list) => {
            for element in &list.elements {
                kind_of(element)?;
            }
            Kind::List
        }
        Expr::Call(call) => call_kind(node.id, call)?,
        other => {
            for child in super::cel_limits::children(other) {
                kind_of(child)?;
            }
            match other {
                Expr::Map(_) => Kind::Map,
                _ => Kind::Any,
            }
        }
    })
}

fn literal_kind(literal: &LiteralValue) -> Kind {
    match literal {
        LiteralValue::Boolean(_) => Kind::Bool,
        LiteralValue::Int(_) => Kind::Int,
        LiteralValue::Double(_) => Kind::Double,
        LiteralValue::String(_) => Kind::String,
        LiteralValue::Null => Kind::Null,
        LiteralValue::Bytes(_) | LiteralValue::UInt(_) => Kind::Any,
    }
}

fn call_kind(id: u64, call: &CallExpr) -> Result<Kind, Problem> {
    let name = call.func_name.as_str();
    let operator = name.starts_with(['_', '@']) || name == "!_" || name == "-_";
    if !operator && !FUNCTIONS.contains(&name) {
        return Err(Problem::UnknownFunction {
            id,
            name: name.to_owned(),
        });
    }
    let mut kinds = Vec::with_capacity(call.args.len() + 1);
    for operand in call.target.as_deref().into_iter().chain(&call.args) {
        kinds.push(kind_of(operand)?);
    }
    if operator {
        operator_kind(name, &kinds).map_err(|message| Problem::Type { id, message })
    } else {
        Ok(function_kind(name))
    }
}

fn function_kind(name: &str) -> Kind {
    match name {
        "size" | "int" => Kind::Int,
        "double" => Kind::Double,
        "string" => Kind::String,
        "bool" | "contains" | "startsWith" | "endsWith" | "matches" => Kind::Bool,
        n if n.starts_with("get") => Kind::Int,
        _ => Kind::Any,
    }
}

/// The kind an operator gives, or why its operands do not fit.
fn operator_kind(name: &str, kinds: &[Kind]) -> Result<Kind, String> {
    let (a, b) = (
        kinds.first().copied().unwrap_or(Kind::Any),
        kinds.get(1).copied().unwrap_or(Kind::Any),
    );
    let symbol = name.trim_matches(['_', '@']);
    let both = |ok: &dyn Fn(Kind) -> bool| (!a.known() || ok(a)) && (!b.known() || ok(b));
    let mismatch = || format!("`{symbol}` cannot combine {} and {}", a.name(), b.name());
    match name {
        "_&&_" | "_||_" | "!_" => {
            let bools = kinds.iter().all(|k| !k.known() || *k == Kind::Bool);
            let operand = kinds.iter().find(|k| k.known() && **k != Kind::Bool);
            match operand {
                Some(k) if !bools => {
                    Err(format!("`{symbol}` needs true or false, not {}", k.name()))
                }
                _ => Ok(Kind::Bool),
            }
        }
        "-_" => both(&|k| k.numeric())
            .then_some(a)
            .ok_or_else(|| format!("`-` needs a number, not {}", a.name())),
        "_+_" | "_-_" | "_*_" | "_/_" | "_%_" => arithmetic(name, a, b).ok_or_else(mismatch),
        "_<_" | "_<=_" | "_>_" | "_>=_" => {
            let comparable = !a.known() || !b.known() || a == b || (a.numeric() && b.numeric());
            let orderable = both(&|k| !matches!(k, Kind::Null | Kind::List | Kind::Map));
            (comparable && orderable)
                .then_some(Kind::Bool)
                .ok_or_else(mismatch)
        }
        "_==_" | "_!=_" => {
            let null = a == Kind::Null || b == Kind::Null;
            let same = !a.known() || !b.known() || a == b || (a.numeric() && b.numeric());
            (null || same).then_some(Kind::Bool).ok_or_else(|| {
                format!(
                    "{} is never equal to {}: compare like with like",
                    a.name(),
                    b.name()
                )
            })
        }
        "@in" => matches!(b, Kind::List | Kind::Map | Kind::Any)
            .then_some(Kind::Bool)
            .ok_or_else(|| format!("`in` needs a list or a map on its right, not {}", b.name())),
        "_?_:_" => conditional(kinds),
        _ => Ok(Kind::Any),
    }
}

/// `+ - * / %` on known kinds: numbers of one kind, `+` on two strings or
/// two lists; unknown kinds pass.
fn arithmetic(name: &str, a: Kind, b: Kind) -> Option<Kind> {
    if !a.known() || !b.known() {
        let other = if a.known() { a } else { b };
        return (!matches!(other, Kind::Bool | Kind::Null | Kind::Map)).then_some(Kind::Any);
    }
    let joins = name == "_+_" && a == b && matches!(a, Kind::String | Kind::List);
    (a == b && (a.numeric() || joins)).then_some(a)
}

fn conditional(kinds: &[Kind]) -> Result<Kind, String> {
    match kinds {
        [condition, ..] if condition.known() && *condition != Kind::Bool => Err(format!(
            "`? :` needs a true or false condition, not {}",
            condition.name()
        )),
        [_, yes, no] if yes == no => Ok(*yes),
        _ => Ok(Kind::Any),
    }
}
