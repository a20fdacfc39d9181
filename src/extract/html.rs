//! A cheap, linear pre-check of how deeply an HTML document nests its elements. Rendering deeply nested markup
//! to text is superlinear (a 1 MB page of nested `<div>`s took minutes), so a document nested deeper than a
//! browser would build is refused before it is parsed. This is a conservative estimate, not a parser: the
//! extraction's process limits still bound what it misses.

/// Elements that never have children (void), or whose end tag may be left out because the parser closes them
/// itself (`<p>`, `<li>`, table parts…): they do not count, so a page of unclosed `<p>`s is not "deep".
const UNCOUNTED: &[&str] = &[
    "area", "base", "basefont", "bgsound", "br", "col", "embed", "frame", "hr", "img", "input", "keygen", "link",
    "meta", "param", "source", "track", "wbr", "p", "li", "dt", "dd", "tr", "td", "th", "option", "optgroup", "rb",
    "rt", "rtc", "rp", "thead", "tbody", "tfoot", "colgroup", "caption", "html", "head", "body",
];

/// Elements whose content is text up to their end tag: a `<` inside is not a tag.
const RAW_TEXT: &[&str] = &["script", "style", "textarea", "title", "xmp", "iframe", "noembed", "noframes", "noscript"];

/// Longest tag name compared; longer ones are kept cut (still distinct enough to pair start and end tags).
const NAME_MAX: usize = 32;

/// `Err(depth)` when elements nest deeper than `limit` (the depth reached, `limit + 1`), else `Ok(())`. Runs in
/// one pass over the bytes with at most `limit` open elements remembered.
pub fn check_depth(html: &[u8], limit: usize) -> Result<(), usize> {
    let mut open: Vec<Vec<u8>> = Vec::new();
    let mut at = 0;
    while let Some(offset) = html[at..].iter().position(|&b| b == b'<') {
        let start = at + offset;
        let rest = &html[start + 1..];
        if rest.starts_with(b"!--") {
            at = find(html, start + 4, b"-->").map_or(html.len(), |end| end + 3);
        } else if rest.first().is_some_and(|b| *b == b'!' || *b == b'?') {
            at = tag_end(html, start + 1);
        } else if rest.first() == Some(&b'/') {
            let name = name_at(html, start + 2);
            at = tag_end(html, start + 2);
            // An end tag closes the innermost open element of its name and those inside it; a stray one (no such
            // element open) is ignored, as the parser does, so it cannot hide depth.
            if let Some(position) = open.iter().rposition(|n| *n == name) {
                open.truncate(position);
            }
        } else if rest.first().is_some_and(u8::is_ascii_alphabetic) {
            let name = name_at(html, start + 1);
            let end = tag_end(html, start + 1);
            let self_closing = end >= 2 && html[end - 2] == b'/';
            at = end;
            let name_str = std::str::from_utf8(&name).unwrap_or_default();
            if RAW_TEXT.contains(&name_str) {
                at = raw_text_end(html, at, &name);
            } else if !self_closing && !UNCOUNTED.contains(&name_str) {
                open.push(name);
                if open.len() > limit {
                    return Err(open.len());
                }
            }
        } else {
            at = start + 1;
        }
    }
    Ok(())
}

/// The lower-cased tag name starting at `at`.
fn name_at(html: &[u8], at: usize) -> Vec<u8> {
    html[at.min(html.len())..]
        .iter()
        .take_while(|b| b.is_ascii_alphanumeric() || **b == b'-' || **b == b':')
        .take(NAME_MAX)
        .map(u8::to_ascii_lowercase)
        .collect()
}

/// Just past the `>` ending the tag whose inside starts at `at` (quoted attribute values may contain `>`), or the
/// end of the document. A quote opens a value only right after `=`, as in the HTML tokenizer: one inside an
/// attribute name (`<div a">`) is just a character, so it cannot swallow the tags that follow.
fn tag_end(html: &[u8], at: usize) -> usize {
    let mut quote = None;
    let mut after_equals = false;
    for (i, &b) in html.iter().enumerate().skip(at) {
        match quote {
            Some(q) if b == q => quote = None,
            Some(_) => continue,
            None => match b {
                b'"' | b'\'' if after_equals => {
                    quote = Some(b);
                    continue;
                }
                b'>' => return i + 1,
                _ => {}
            },
        }
        if !b.is_ascii_whitespace() {
            after_equals = b == b'=';
        }
    }
    html.len()
}

/// Just past the end tag `</name…>` of a raw-text element whose content starts at `at`.
fn raw_text_end(html: &[u8], mut at: usize, name: &[u8]) -> usize {
    while let Some(found) = find(html, at, b"</") {
        if name_at(html, found + 2) == name {
            return tag_end(html, found + 2);
        }
        at = found + 2;
    }
    html.len()
}

fn find(haystack: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    haystack.get(from..)?.windows(needle.len()).position(|w| w == needle).map(|p| from + p)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nested(tag: &str, depth: usize) -> String {
        format!("{}x{}", format!("<{tag} class=\"a>b\">").repeat(depth), format!("</{tag}>").repeat(depth))
    }

    #[test]
    fn depth_within_the_limit_passes() {
        assert_eq!(check_depth(nested("div", 100).as_bytes(), 100), Ok(()));
        assert_eq!(check_depth(b"<!DOCTYPE html><html><body><p>plain</p></body></html>", 1), Ok(()));
        // Siblings are not depth.
        assert_eq!(check_depth("<div>a</div>".repeat(10_000).as_bytes(), 2), Ok(()));
    }

    #[test]
    fn deep_nesting_is_refused() {
        assert_eq!(check_depth(nested("div", 101).as_bytes(), 100), Err(101));
        // Unclosed elements nest as deeply as closed ones.
        assert_eq!(check_depth("<span>".repeat(1000).as_bytes(), 512), Err(513));
        // Mixed case names pair up.
        assert_eq!(check_depth(b"<DIV><div></Div></DIV><div>", 2), Ok(()));
    }

    #[test]
    fn stray_end_tags_do_not_hide_depth() {
        let sneaky = "<div></nope>".repeat(300);
        assert_eq!(check_depth(sneaky.as_bytes(), 256), Err(257));
        // An end tag of an outer element closes everything inside it.
        let closed = "<div><span><b>x</div>".repeat(300);
        assert_eq!(check_depth(closed.as_bytes(), 3), Ok(()));
        // A quote inside an attribute name opens no value: the tags after it still count.
        let quoted_names = format!("<div a\">{}<div b\">", "<div>".repeat(300));
        assert_eq!(check_depth(quoted_names.as_bytes(), 256), Err(257));
        // A real quoted value may hold `>` and `<div>`.
        assert_eq!(check_depth(r#"<a title="<div><div><div>">x</a>"#.as_bytes(), 1), Ok(()));
    }

    #[test]
    fn elements_the_parser_closes_itself_do_not_count() {
        assert_eq!(check_depth("<p>para".repeat(5000).as_bytes(), 4), Ok(()));
        assert_eq!(check_depth("<ul><li>a<li>b</ul>".repeat(50).as_bytes(), 4), Ok(()));
        assert_eq!(check_depth("<img src=x><br/><svg><path d='m'/></svg>".repeat(500).as_bytes(), 4), Ok(()));
    }

    #[test]
    fn markup_inside_comments_scripts_and_attributes_is_not_counted() {
        let inside = format!(
            "<!-- {} --><script>{}</script><style>{}</STYLE>",
            "<div>".repeat(50),
            "if (a<b) '<div>'".repeat(50),
            "<div>".repeat(50)
        );
        assert_eq!(check_depth(inside.as_bytes(), 2), Ok(()));
        assert_eq!(check_depth(b"<a title='<div><div><div>'>x</a>", 1), Ok(()));
        assert_eq!(check_depth(b"a < b and <3 <", 1), Ok(()), "a lone `<` is text");
        assert_eq!(check_depth(b"<div", 1), Ok(()), "a cut tag ends the document");
    }
}
