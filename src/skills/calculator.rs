//! `calculator`: arithmetic by `evalexpr`. Integers stay exact (checked 64-bit arithmetic, overflow is an error);
//! a division is evaluated in floating point, since a model asking `7/2` means 3.5. Common function names
//! (`sqrt`, `sin`, `ln`…) are accepted without evalexpr's `math::` prefix, and `pi` and `e` are defined.
use async_trait::async_trait;
use evalexpr::{ContextWithMutableVariables, DefaultNumericTypes, HashMapContext, Value as Number};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Skill, ToolContext, ToolError, arguments, config_u64};
use crate::llm::ToolSpec;

/// Longest accepted expression: a calculator call, not a program.
const MAX_EXPRESSION_CHARS: usize = 1000;

const MATH_FUNCTIONS: [&str; 19] = [
    "ln", "log", "exp", "pow", "cos", "acos", "cosh", "acosh", "sin", "asin", "sinh", "asinh", "tan", "atan", "tanh",
    "atanh", "sqrt", "cbrt", "abs",
];

pub struct Calculator;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Args {
    expression: String,
}

#[async_trait]
impl Skill for Calculator {
    fn id(&self) -> &str {
        "calculator"
    }

    fn tools(&self, _config: &Value) -> Vec<ToolSpec> {
        vec![ToolSpec {
            name: "calculator".into(),
            description: "Evaluate an arithmetic expression exactly, e.g. `(17 * 23) + 4` or `sqrt(2) / 3`. \
                          Operators: + - * / % ^ and parentheses; functions: sqrt, cbrt, abs, ln, log, exp, pow, \
                          sin, cos, tan (radians), floor, ceil, round, min, max; constants pi and e."
                .into(),
            parameters: json!({
                "type": "object",
                "properties": { "expression": { "type": "string", "description": "The expression to evaluate." } },
                "required": ["expression"],
                "additionalProperties": false
            }),
        }]
    }

    async fn call(&self, _ctx: &ToolContext<'_>, _tool: &str, config: &Value, raw: &str) -> Result<Value, ToolError> {
        let args: Args = arguments(raw)?;
        let precision = config_u64(config, "precision", 10).min(20) as i32;
        let result = evaluate(&args.expression, precision)?;
        Ok(json!({ "expression": args.expression, "result": result }))
    }
}

/// Evaluates an expression to a JSON number (floats rounded to `precision` decimals).
pub fn evaluate(expression: &str, precision: i32) -> Result<Value, ToolError> {
    if expression.trim().is_empty() {
        return Err(ToolError::InvalidArguments("`expression` is empty".into()));
    }
    if expression.chars().count() > MAX_EXPRESSION_CHARS {
        return Err(ToolError::InvalidArguments(format!(
            "`expression` is longer than {MAX_EXPRESSION_CHARS} characters"
        )));
    }
    let mut source = with_math_prefixes(expression);
    if source.contains('/') {
        source = float_literals(&source);
    }
    let mut context = HashMapContext::<DefaultNumericTypes>::new();
    let constants = [("pi", std::f64::consts::PI), ("e", std::f64::consts::E)];
    for (name, value) in constants {
        context.set_value(name.into(), Number::Float(value)).map_err(|err| ToolError::Failed(err.to_string()))?;
    }
    let value = evalexpr::eval_with_context(&source, &context)
        .map_err(|err| ToolError::InvalidArguments(format!("cannot evaluate `{expression}`: {err}")))?;
    match value {
        Number::Int(n) => Ok(json!(n)),
        Number::Float(f) if f.is_finite() => {
            let scale = 10f64.powi(precision);
            let rounded = (f * scale).round() / scale;
            let rounded = if rounded.is_finite() { rounded } else { f };
            if rounded.fract() == 0.0 && rounded.abs() < 9.0e15 {
                Ok(json!(rounded as i64))
            } else {
                Ok(json!(rounded))
            }
        }
        Number::Float(f) => Err(ToolError::Failed(format!("the result is not a finite number ({f})"))),
        Number::Boolean(b) => Ok(json!(b)),
        other => Err(ToolError::InvalidArguments(format!("`{expression}` is not arithmetic (it gives {other})"))),
    }
}

/// `sqrt(2)` → `math::sqrt(2)`: models write the common names.
fn with_math_prefixes(expression: &str) -> String {
    let mut out = String::with_capacity(expression.len() + 16);
    let mut rest = expression;
    while let Some(start) = rest.find(|c: char| c.is_ascii_alphabetic()) {
        let word_end = rest[start..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
            .map_or(rest.len(), |n| start + n);
        let word = &rest[start..word_end];
        let preceded_by_word = rest[..start].ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_' || c == ':');
        out.push_str(&rest[..start]);
        if !preceded_by_word && MATH_FUNCTIONS.contains(&word) {
            out.push_str("math::");
        }
        out.push_str(word);
        rest = &rest[word_end..];
    }
    out.push_str(rest);
    out
}

/// Integer literals become float literals (`7/2` → `7.0/2.0`), so a division is not truncated.
fn float_literals(expression: &str) -> String {
    let chars: Vec<char> = expression.chars().collect();
    let mut out = String::with_capacity(expression.len() + 8);
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let starts_literal = c.is_ascii_digit()
            && (i == 0 || !(chars[i - 1].is_ascii_alphanumeric() || chars[i - 1] == '_' || chars[i - 1] == '.'));
        if !starts_literal {
            out.push(c);
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && chars[i].is_ascii_digit() {
            i += 1;
        }
        out.extend(&chars[start..i]);
        let continues = i < chars.len() && (chars[i] == '.' || chars[i].is_ascii_alphabetic() || chars[i] == '_');
        if !continues {
            out.push_str(".0");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic() {
        assert_eq!(evaluate("(17 * 23) + 4", 10).expect("int"), json!(395));
        assert_eq!(evaluate("7/2", 10).expect("division"), json!(3.5));
        assert_eq!(evaluate("1/3", 4).expect("precision"), json!(0.3333));
        assert_eq!(evaluate("sqrt(16) + abs(-2)", 10).expect("functions"), json!(6));
        assert_eq!(evaluate("2^10", 10).expect("power"), json!(1024.0 as i64));
        assert_eq!(evaluate("round(e * 100) / 100", 10).expect("e"), json!(2.72));
        assert_eq!(evaluate("round(pi * 10000)", 10).expect("pi"), json!(31416));
        assert_eq!(evaluate("9223372036854775807 + 0", 10).expect("exact"), json!(i64::MAX));
    }

    #[test]
    fn bad_expressions_are_argument_errors() {
        for bad in ["", "1 +", "x + 1", "9223372036854775807 + 1", "a = 1", "\"text\"", &"1+".repeat(600)] {
            assert!(evaluate(bad, 10).is_err(), "{bad} evaluated");
        }
        assert!(matches!(evaluate("1/0", 10), Err(ToolError::Failed(_)) | Err(ToolError::InvalidArguments(_))));
    }
}
