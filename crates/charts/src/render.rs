//! Drawing a [`Chart`] with plotters: SVG (for the UI and export) and PNG (export).
//!
//! Categories sit at integer x positions; bars are stacked per category, lines join one
//! point per category. The interactive SVG also gets a transparent hit area per bar
//! segment or point (`data-series`, `data-point`, `data-count`, `data-value` and a
//! `<title>` with the exact value), so the UI can show values and open the matching orders.

use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

use crate::model::{Chart, ChartStyle, Unit};
use crate::theme::{Palette, Theme};
use crate::ChartError;

/// Size and look of a rendering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RenderOptions {
    pub width: u32,
    pub height: u32,
    pub theme: Theme,
    /// Add the hit areas (for the UI; exports leave them out).
    pub interactive: bool,
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions { width: 720, height: 360, theme: Theme::Light, interactive: false }
    }
}

/// Where a bar segment or point was drawn, in SVG pixels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    pub series: usize,
    pub point: usize,
    pub x: i32,
    pub y: i32,
    pub w: i32,
    pub h: i32,
}

const FONT: &str = "sans-serif";
const BAR_HALF_WIDTH: f64 = 0.38;
const POINT_HIT: i32 = 7;

fn err<E: std::fmt::Display>(e: E) -> ChartError {
    ChartError::Render(e.to_string())
}

/// The plotted number for a value of `unit` (money in major units, rates in percent).
fn plotted(unit: Unit, value: i64, money_digits: u32) -> f64 {
    match unit {
        Unit::Count => value as f64,
        Unit::Cents => value as f64 / 10f64.powi(money_digits.min(9) as i32),
        Unit::BasisPoints => value as f64 / 100.0,
    }
}

fn axis_label(unit: Unit, y: f64) -> String {
    let a = y.abs();
    let s = if a >= 1_000_000.0 {
        format!("{:.1}M", y / 1_000_000.0)
    } else if a >= 10_000.0 {
        format!("{:.0}k", y / 1_000.0)
    } else if a >= 1_000.0 {
        format!("{:.1}k", y / 1_000.0)
    } else if (y - y.round()).abs() < 1e-9 {
        format!("{y:.0}")
    } else {
        format!("{y:.1}")
    };
    if unit == Unit::BasisPoints {
        format!("{s}%")
    } else {
        s
    }
}

/// Draws the chart and returns where each point went.
fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    chart: &Chart,
    opts: &RenderOptions,
) -> Result<Vec<Hit>, ChartError> {
    let p: Palette = opts.theme.palette();
    root.fill(&p.background).map_err(err)?;
    let n = chart.categories.len().max(1);
    let unit = chart.series.first().map(|s| s.unit).unwrap_or(Unit::Count);
    let max = plotted(unit, chart.max_value(), chart.money_digits);
    let y_max = match unit {
        Unit::BasisPoints => 100.0,
        _ => (max * 1.1).max(1.0),
    };
    let x_range = -0.5f64..(n as f64 - 0.5);

    let title_style = (FONT, 17).into_font().style(FontStyle::Bold).color(&p.text);
    let (head, body) = root.split_vertically(46);
    head.draw(&Text::new(chart.title.clone(), (12, 6), title_style)).map_err(err)?;
    head.draw(&Text::new(chart.subtitle.clone(), (12, 28), (FONT, 12).into_font().color(&p.muted))).map_err(err)?;

    let mut cc = ChartBuilder::on(&body)
        .margin_left(8)
        .margin_right(16)
        .margin_bottom(6)
        .x_label_area_size(44)
        .y_label_area_size(64)
        .build_cartesian_2d(x_range, 0f64..y_max)
        .map_err(err)?;
    let max_labels = ((opts.width as usize).saturating_sub(80) / 56).max(2);
    let categories = &chart.categories;
    let x_fmt = |x: &f64| -> String {
        let r = x.round();
        if (x - r).abs() > 1e-6 || r < 0.0 {
            return String::new();
        }
        categories.get(r as usize).cloned().unwrap_or_default()
    };
    let y_fmt = |y: &f64| axis_label(unit, *y);
    let label_style = (FONT, 12).into_font().color(&p.muted);
    cc.configure_mesh()
        .disable_x_mesh()
        .bold_line_style(p.grid)
        .light_line_style(p.background)
        .axis_style(p.axis)
        .x_labels(n.min(max_labels))
        .y_labels(6)
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt)
        .x_desc(chart.x_label.clone())
        .y_desc(chart.y_label.clone())
        .label_style(label_style.clone())
        .axis_desc_style((FONT, 12).into_font().color(&p.text))
        .draw()
        .map_err(err)?;

    let mut hits = Vec::new();
    let color = |i: usize| p.series.get(i % p.series.len()).copied().unwrap_or(p.text);
    match chart.style {
        ChartStyle::Bars => {
            let mut base = vec![0f64; n];
            for (si, s) in chart.series.iter().enumerate() {
                let c = color(si);
                let mut rects = Vec::new();
                for (pi, pt) in s.points.iter().enumerate() {
                    let Some(b) = base.get_mut(pt.category) else { continue };
                    let v = plotted(s.unit, pt.value.max(0), chart.money_digits);
                    let x = pt.category as f64;
                    let (y0, y1) = (*b, *b + v);
                    *b = y1;
                    if v <= 0.0 {
                        continue;
                    }
                    rects.push(Rectangle::new([(x - BAR_HALF_WIDTH, y0), (x + BAR_HALF_WIDTH, y1)], c.filled()));
                    let (px0, py1) = cc.backend_coord(&(x - BAR_HALF_WIDTH, y1));
                    let (px1, py0) = cc.backend_coord(&(x + BAR_HALF_WIDTH, y0));
                    hits.push(Hit {
                        series: si,
                        point: pi,
                        x: px0,
                        y: py1,
                        w: (px1 - px0).max(2),
                        h: (py0 - py1).max(2),
                    });
                }
                let drawn = cc.draw_series(rects).map_err(err)?;
                if chart.series.len() > 1 {
                    drawn
                        .label(s.name.clone())
                        .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 10, y + 5)], c.filled()));
                }
            }
        }
        ChartStyle::Lines => {
            for (si, s) in chart.series.iter().enumerate() {
                let c = color(si);
                let pts: Vec<(f64, f64)> = s
                    .points
                    .iter()
                    .map(|pt| (pt.category as f64, plotted(s.unit, pt.value, chart.money_digits)))
                    .collect();
                let drawn = cc.draw_series(LineSeries::new(pts.clone(), c.stroke_width(2))).map_err(err)?;
                if chart.series.len() > 1 {
                    drawn
                        .label(s.name.clone())
                        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 14, y)], c.stroke_width(2)));
                }
                if pts.len() <= 60 {
                    cc.draw_series(pts.iter().map(|&(x, y)| Circle::new((x, y), 3, c.filled()))).map_err(err)?;
                }
                for (pi, xy) in pts.iter().enumerate() {
                    let (px, py) = cc.backend_coord(xy);
                    hits.push(Hit {
                        series: si,
                        point: pi,
                        x: px - POINT_HIT,
                        y: py - POINT_HIT,
                        w: 2 * POINT_HIT,
                        h: 2 * POINT_HIT,
                    });
                }
            }
        }
    }
    if chart.series.len() > 1 {
        cc.configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(p.background.mix(0.85))
            .border_style(p.grid)
            .label_font((FONT, 12).into_font().color(&p.text))
            .draw()
            .map_err(err)?;
    }
    // `backend_coord` gives the drawing's own pixels (the heading's height included), which
    // is where the hit areas go: no further shift.
    Ok(hits)
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The chart as an SVG document. With `interactive`, each bar segment or point gets a
/// transparent `<rect class="hit">` carrying its indices, count and exact value.
pub fn render_svg(chart: &Chart, opts: &RenderOptions) -> Result<String, ChartError> {
    let mut svg = String::new();
    let hits = {
        let root = SVGBackend::with_string(&mut svg, (opts.width, opts.height)).into_drawing_area();
        let hits = draw(&root, chart, opts)?;
        root.present().map_err(err)?;
        hits
    };
    if !opts.interactive {
        return Ok(svg);
    }
    let mut layer = String::from("<g class=\"hits\">");
    for h in hits {
        let Some(pt) = chart.series.get(h.series).and_then(|s| s.points.get(h.point)) else { continue };
        layer.push_str(&format!(
            "<rect class=\"hit\" data-series=\"{}\" data-point=\"{}\" data-category=\"{}\" data-count=\"{}\" data-value=\"{}\" data-exact=\"{}\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"#000\" fill-opacity=\"0\"><title>{}</title></rect>",
            h.series, h.point, pt.category, pt.count, pt.value, pt.drill.exact, h.x, h.y, h.w, h.h, escape(&pt.label)
        ));
    }
    layer.push_str("</g></svg>");
    match svg.rfind("</svg>") {
        Some(i) => {
            svg.replace_range(i.., &layer);
            Ok(svg)
        }
        None => Err(ChartError::Render("plotters wrote no closing </svg>".into())),
    }
}

/// The chart as a PNG file at `path`.
pub fn render_png(chart: &Chart, opts: &RenderOptions, path: &Path) -> Result<(), ChartError> {
    let root = BitMapBackend::new(path, (opts.width, opts.height)).into_drawing_area();
    draw(&root, chart, opts)?;
    root.present().map_err(err)?;
    Ok(())
}
