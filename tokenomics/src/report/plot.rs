//! SVG plots drawn with plotters: fan charts (p5–p95 band and median across runs), the stress
//! variants' medians side by side, and the sweep's heat map. Each returns the SVG as text.

use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use crate::monte_carlo::{Fan, SweepResult};

const WIDTH: u32 = 760;
const HEIGHT: u32 = 380;
/// Epochs kept per line (an SVG of every day of ten years is megabytes).
const MAX_POINTS: usize = 500;
/// Payback is infinite when a hotspot never pays back; plots clip it here.
pub const PAYBACK_CLIP_MONTHS: f64 = 120.0;

const PALETTE: [RGBColor; 6] = [
    RGBColor(37, 99, 235),
    RGBColor(220, 38, 38),
    RGBColor(22, 163, 74),
    RGBColor(245, 158, 11),
    RGBColor(124, 58, 237),
    RGBColor(8, 145, 178),
];

/// Plotting failed (plotters reports its drawing errors as text).
#[derive(Debug, thiserror::Error)]
#[error("plot {plot}: {message}")]
pub struct PlotError {
    plot: String,
    message: String,
}

fn err(plot: &str) -> impl Fn(Box<dyn std::fmt::Debug>) -> PlotError + '_ {
    move |e| PlotError {
        plot: plot.into(),
        message: format!("{e:?}"),
    }
}

fn clip(name: &str, v: f64) -> f64 {
    if name == "payback_months" {
        v.min(PAYBACK_CLIP_MONTHS)
    } else if v.is_finite() {
        v
    } else {
        0.0
    }
}

fn step(len: usize) -> usize {
    len.div_ceil(MAX_POINTS).max(1)
}

fn range_of(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values.filter(|v| v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let lo = lo.min(0.0);
    if hi - lo < 1e-12 {
        (lo, lo + 1.0)
    } else {
        (lo, hi + (hi - lo) * 0.05)
    }
}

type Chart<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;
type DrawResult<T> = Result<T, DrawingAreaErrorKind<std::io::Error>>;

/// A chart over `years` with its mesh drawn: years along, `range` up.
fn over_years<'a, 'b>(
    root: &'a DrawingArea<SVGBackend<'b>, plotters::coord::Shift>,
    caption: &str,
    years: f64,
    (lo, hi): (f64, f64),
) -> DrawResult<Chart<'a, 'b>> {
    let mut chart = ChartBuilder::on(root)
        .caption(caption, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(78)
        .build_cartesian_2d(0f64..years, lo..hi)?;
    chart
        .configure_mesh()
        .x_desc("years")
        .light_line_style(RGBColor(240, 240, 240))
        .y_label_formatter(&|v| short(*v))
        .draw()?;
    Ok(chart)
}

fn legend<'a, 'b: 'a>(chart: &mut Chart<'a, 'b>) -> DrawResult<()> {
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(200, 200, 200))
        .position(SeriesLabelPosition::UpperRight)
        .draw()
}

/// A fan chart of metric `index` of `fan`: the 5–95 % band across runs and the median.
pub fn fan_chart(fan: &Fan, index: usize, name: &str, label: &str) -> Result<String, PlotError> {
    let mut svg = String::new();
    {
        let e = err(name);
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(|x| e(Box::new(x)))?;
        let k = step(fan.epochs.len());
        let pts = |series: &[f64]| -> Vec<(f64, f64)> {
            fan.epochs
                .iter()
                .zip(series)
                .step_by(k)
                .map(|(ep, v)| (*ep as f64 / 365.0, clip(name, *v)))
                .collect()
        };
        let (p5, p50, p95) = (
            pts(&fan.p5[index]),
            pts(&fan.p50[index]),
            pts(&fan.p95[index]),
        );
        let years = fan.epochs.last().copied().unwrap_or(365) as f64 / 365.0;
        let (lo, hi) = range_of(p5.iter().chain(&p95).map(|p| p.1));
        let mut chart = over_years(&root, label, years, (lo, hi)).map_err(|x| e(Box::new(x)))?;
        let band: Vec<(f64, f64)> = p95.iter().chain(p5.iter().rev()).copied().collect();
        chart
            .draw_series(std::iter::once(Polygon::new(
                band,
                PALETTE[0].mix(0.18).filled(),
            )))
            .map_err(|x| e(Box::new(x)))?
            .label("5–95 % of runs")
            .legend(|(x, y)| {
                Rectangle::new([(x, y - 5), (x + 16, y + 5)], PALETTE[0].mix(0.18).filled())
            });
        chart
            .draw_series(LineSeries::new(p50, PALETTE[0].stroke_width(2)))
            .map_err(|x| e(Box::new(x)))?
            .label("median")
            .legend(|(x, y)| PathElement::new([(x, y), (x + 16, y)], PALETTE[0].stroke_width(2)));
        legend(&mut chart).map_err(|x| e(Box::new(x)))?;
        root.present().map_err(|x| e(Box::new(x)))?;
    }
    Ok(svg)
}

/// Medians of metric `index` for several variants (the scenario and its stress tests).
pub fn variants_chart(
    variants: &[(String, &Fan)],
    index: usize,
    name: &str,
    label: &str,
) -> Result<String, PlotError> {
    let mut svg = String::new();
    {
        let e = err(name);
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(|x| e(Box::new(x)))?;
        let lines: Vec<(String, Vec<(f64, f64)>)> = variants
            .iter()
            .map(|(n, fan)| {
                let k = step(fan.epochs.len());
                let pts = fan
                    .epochs
                    .iter()
                    .zip(&fan.p50[index])
                    .step_by(k)
                    .map(|(ep, v)| (*ep as f64 / 365.0, clip(name, *v)))
                    .collect();
                (n.clone(), pts)
            })
            .collect();
        let years = variants
            .iter()
            .filter_map(|(_, f)| f.epochs.last())
            .max()
            .copied()
            .unwrap_or(365) as f64
            / 365.0;
        let (lo, hi) = range_of(lines.iter().flat_map(|(_, p)| p.iter().map(|q| q.1)));
        let caption = format!("{label}: median by variant");
        let mut chart = over_years(&root, &caption, years, (lo, hi)).map_err(|x| e(Box::new(x)))?;
        for (i, (n, pts)) in lines.into_iter().enumerate() {
            let color = PALETTE[i % PALETTE.len()];
            chart
                .draw_series(LineSeries::new(pts, color.stroke_width(2)))
                .map_err(|x| e(Box::new(x)))?
                .label(n)
                .legend(move |(x, y)| {
                    PathElement::new([(x, y), (x + 16, y)], color.stroke_width(2))
                });
        }
        legend(&mut chart).map_err(|x| e(Box::new(x)))?;
        root.present().map_err(|x| e(Box::new(x)))?;
    }
    Ok(svg)
}

/// The sweep's heat map: one cell per parameter pair, coloured and labelled by its median.
pub fn heat_map(sweep: &SweepResult) -> Result<String, PlotError> {
    let mut svg = String::new();
    {
        let e = err("sweep");
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT + 60)).into_drawing_area();
        root.fill(&WHITE).map_err(|x| e(Box::new(x)))?;
        let (nx, ny) = (sweep.xs.len() as i32, sweep.ys.len() as i32);
        let mut chart = ChartBuilder::on(&root)
            .caption(
                format!("{} at the end (median)", sweep.metric),
                ("sans-serif", 18),
            )
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(90)
            .build_cartesian_2d(
                (0..(nx - 1).max(0)).into_segmented(),
                (0..(ny - 1).max(0)).into_segmented(),
            )
            .map_err(|x| e(Box::new(x)))?;
        let (xs, ys) = (sweep.xs.clone(), sweep.ys.clone());
        let at = |values: &[f64], v: &SegmentValue<i32>| match v {
            SegmentValue::CenterOf(i) => values
                .get(*i as usize)
                .map(|x| short(*x))
                .unwrap_or_default(),
            _ => String::new(),
        };
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc(sweep.x_param.as_str())
            .y_desc(sweep.y_param.as_str())
            .x_label_formatter(&|v| at(&xs, v))
            .y_label_formatter(&|v| at(&ys, v))
            .draw()
            .map_err(|x| e(Box::new(x)))?;
        let finite = sweep
            .cells
            .iter()
            .flatten()
            .copied()
            .filter(|v| v.is_finite());
        let (lo, hi) = finite.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(v), b.max(v))
        });
        for (y, row) in sweep.cells.iter().enumerate() {
            for (x, v) in row.iter().enumerate() {
                let t = if v.is_finite() && hi > lo {
                    (v - lo) / (hi - lo)
                } else {
                    1.0
                };
                let color = RGBColor(
                    (30.0 + 220.0 * t) as u8,
                    (60.0 + 150.0 * t) as u8,
                    (150.0 - 110.0 * t) as u8,
                );
                let (x, y) = (x as i32, y as i32);
                chart
                    .draw_series(std::iter::once(Rectangle::new(
                        [
                            (SegmentValue::Exact(x), SegmentValue::Exact(y)),
                            (SegmentValue::Exact(x + 1), SegmentValue::Exact(y + 1)),
                        ],
                        color.filled(),
                    )))
                    .map_err(|x| e(Box::new(x)))?;
                chart
                    .draw_series(std::iter::once(Text::new(
                        short(*v),
                        (SegmentValue::CenterOf(x), SegmentValue::CenterOf(y)),
                        ("sans-serif", 14).into_font().color(&BLACK),
                    )))
                    .map_err(|x| e(Box::new(x)))?;
            }
        }
        root.present().map_err(|x| e(Box::new(x)))?;
    }
    Ok(svg)
}

/// A number in a few characters: 1.2M, 35k, 0.042, ∞.
pub fn short(v: f64) -> String {
    if v.is_infinite() {
        return "∞".into();
    }
    if v.is_nan() {
        return "–".into();
    }
    let a = v.abs();
    if a >= 1e9 {
        format!("{:.1}G", v / 1e9)
    } else if a >= 1e6 {
        format!("{:.1}M", v / 1e6)
    } else if a >= 1e4 {
        format!("{:.0}k", v / 1e3)
    } else if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 1.0 {
        format!("{v:.2}")
    } else if a == 0.0 {
        "0".into()
    } else {
        format!("{v:.3}")
    }
}
