//! Drawing the two chart kinds with plotters into an RGB buffer, then PNG-encoding it.
//!
//! Text is rendered with DejaVu Sans compiled into the binary (plotters' `ab_glyph` feature), so charts look the
//! same on every host and need no system fonts. DejaVu's licence (Bitstream Vera) allows embedding.

use std::error::Error;
use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::register_font;

use super::bins::Bin;
use super::{fmt, png};

/// Chart width in pixels.
pub const WIDTH: u32 = 800;
/// Chart height in pixels.
pub const HEIGHT: u32 = 500;

/// The family plotters asks for by default; registering under it covers text we do not style explicitly.
const FAMILY: &str = "sans-serif";
static FONT: &[u8] = include_bytes!("DejaVuSans.ttf");
const BAR: RGBColor = RGBColor(76, 114, 176);
const LIGHT_LINE: RGBColor = RGBColor(236, 236, 236);
/// Longest column name shown in a title or axis description, and longest category label, in characters.
const MAX_NAME_CHARS: usize = 60;
const MAX_LABEL_CHARS: usize = 28;

type DrawResult = Result<(), Box<dyn Error>>;
type Area<'a> = DrawingArea<BitMapBackend<'a>, Shift>;

/// A histogram of `column` over `bins` (at least one), as PNG bytes. With `whole_numbers` the x axis is only
/// labelled at integers.
pub(crate) fn histogram(column: &str, bins: &[Bin], whole_numbers: bool) -> Result<Vec<u8>, String> {
    render(|root| {
        let (Some(first), Some(last)) = (bins.first(), bins.last()) else {
            return Ok(());
        };
        let tallest = bins.iter().map(|bin| bin.count).max().unwrap_or(0);
        let name = shorten(column, MAX_NAME_CHARS);
        let mut chart = ChartBuilder::on(root)
            .caption(format!("Distribution of {name}"), (FAMILY, 22))
            .margin(16)
            .x_label_area_size(48)
            .y_label_area_size(72)
            .build_cartesian_2d(first.start..last.end, 0..headroom(tallest))?;
        let x_label = |x: &f64| {
            if whole_numbers && x.fract() != 0.0 { String::new() } else { fmt::number(*x) }
        };
        chart
            .configure_mesh()
            .disable_x_mesh()
            .light_line_style(LIGHT_LINE)
            .x_desc(name)
            .y_desc("count")
            .x_label_formatter(&x_label)
            .y_label_formatter(&|y| fmt::count(*y))
            .label_style((FAMILY, 13))
            .axis_desc_style((FAMILY, 15))
            .draw()?;
        chart.draw_series(bins.iter().map(|bin| {
            let mut bar = Rectangle::new([(bin.start, 0), (bin.end, bin.count)], BAR.filled());
            bar.set_margin(0, 0, 1, 1);
            bar
        }))?;
        Ok(())
    })
}

/// A horizontal bar chart of (label, count) pairs, most frequent first, drawn top to bottom; as PNG bytes.
pub(crate) fn bars(column: &str, bars: &[(String, usize)]) -> Result<Vec<u8>, String> {
    render(|root| {
        let rows = u32::try_from(bars.len())?;
        let longest = bars.iter().map(|(_, count)| *count).max().unwrap_or(0);
        let name = shorten(column, MAX_NAME_CHARS);
        // Row `r` from the bottom holds bar `rows - 1 - r`. Integer segment ranges are inclusive, so `0..rows - 1`
        // has one segment per bar; a single bar gets `0..1`, since plotters cannot map a one-value range.
        let top = if rows > 1 { rows - 1 } else { 1 };
        let label = |value: &SegmentValue<u32>| match value {
            SegmentValue::CenterOf(row) if *row < rows => shorten(&bars[(rows - 1 - row) as usize].0, MAX_LABEL_CHARS),
            _ => String::new(),
        };
        let mut chart = ChartBuilder::on(root)
            .caption(format!("Most common values of {name}"), (FAMILY, 22))
            .margin(16)
            .x_label_area_size(48)
            .y_label_area_size(210)
            .build_cartesian_2d(0..headroom(longest), (0..top).into_segmented())?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(top as usize + 1)
            .light_line_style(LIGHT_LINE)
            .x_desc("count")
            .y_desc(name)
            .x_label_formatter(&|x| fmt::count(*x))
            .y_label_formatter(&label)
            .label_style((FAMILY, 13))
            .axis_desc_style((FAMILY, 15))
            .draw()?;
        chart.draw_series((0..rows).zip(bars.iter().rev()).map(|(row, (_, count))| {
            let corners = [(0, SegmentValue::Exact(row)), (*count, SegmentValue::Exact(row + 1))];
            let mut bar = Rectangle::new(corners, BAR.filled());
            bar.set_margin(3, 3, 0, 0);
            bar
        }))?;
        Ok(())
    })
}

/// Runs `draw` on a white canvas and encodes the result.
fn render(draw: impl FnOnce(&Area<'_>) -> DrawResult) -> Result<Vec<u8>, String> {
    register_embedded_font()?;
    let mut rgb = vec![0u8; WIDTH as usize * HEIGHT as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (WIDTH, HEIGHT)).into_drawing_area();
        let drawn = root
            .fill(&WHITE)
            .map_err(Box::from)
            .and_then(|()| draw(&root))
            .and_then(|()| root.present().map_err(Box::from));
        drawn.map_err(|error| error.to_string())?;
    }
    Ok(png::encode_rgb(WIDTH, HEIGHT, &rgb))
}

/// Registers the embedded font with plotters once per process; plotters keeps fonts in a global table.
fn register_embedded_font() -> Result<(), String> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let registered = *REGISTERED.get_or_init(|| register_font(FAMILY, FontStyle::Normal, FONT).is_ok());
    if registered { Ok(()) } else { Err("the embedded font could not be loaded".to_owned()) }
}

/// The top of a count axis: a tenth above the largest count, so the tallest bar does not touch the frame.
fn headroom(largest: usize) -> usize {
    largest + largest / 10 + 1
}

fn shorten(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_names_are_shortened_on_char_boundaries() {
        assert_eq!(shorten("short", 10), "short");
        assert_eq!(shorten("ééééé", 3), "ééé…");
    }

    #[test]
    fn the_font_registers() {
        assert_eq!(register_embedded_font(), Ok(()));
        assert_eq!(register_embedded_font(), Ok(()));
    }
}
