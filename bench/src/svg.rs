//! Charts drawn by hand as SVG: horizontal bars with min–max whiskers, and a line chart.
//! No plotting crate: a few rectangles and lines are all the book needs, and SVG diffs well.

/// One bar: a median and its spread.
#[derive(Debug, Clone)]
pub struct Bar {
    pub label: String,
    pub value: f64,
    pub min: f64,
    pub max: f64,
    /// Drawn in the accent colour (our proxy).
    pub highlight: bool,
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A "nice" axis maximum above `x` (1, 2, 2.5, 5 times a power of ten).
pub fn nice_max(x: f64) -> f64 {
    if x <= 0.0 || !x.is_finite() {
        return 1.0;
    }
    let p = 10f64.powf(x.log10().floor());
    for m in [1.0, 2.0, 2.5, 5.0, 10.0] {
        if m * p >= x {
            return m * p;
        }
    }
    10.0 * p
}

/// Horizontal bars, one per row, with a value label and a min–max whisker.
pub fn bars(
    title: &str,
    subtitle: &str,
    unit: &str,
    rows: &[Bar],
    fmt: impl Fn(f64) -> String,
) -> String {
    let left = 230.0;
    let width = 760.0;
    let plot_w = width - left - 90.0;
    let row_h = 30.0;
    let top = 62.0;
    let height = top + row_h * rows.len() as f64 + 40.0;
    let max = nice_max(rows.iter().map(|r| r.max.max(r.value)).fold(0.0, f64::max));
    let x = |v: f64| left + plot_w * (v / max).clamp(0.0, 1.0);
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" font-family=\"sans-serif\" font-size=\"13\">\n\
<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n\
<text x=\"12\" y=\"22\" font-size=\"16\" font-weight=\"bold\">{}</text>\n\
<text x=\"12\" y=\"42\" fill=\"#555\">{}</text>\n",
        esc(title),
        esc(subtitle)
    );
    // Grid and axis labels.
    for i in 0..=4 {
        let v = max * i as f64 / 4.0;
        let gx = x(v);
        s.push_str(&format!(
            "<line x1=\"{gx:.1}\" y1=\"{top}\" x2=\"{gx:.1}\" y2=\"{:.1}\" stroke=\"#ddd\"/>\n<text x=\"{gx:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#555\">{}</text>\n",
            height - 34.0,
            height - 18.0,
            esc(&fmt(v))
        ));
    }
    s.push_str(&format!(
        "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"#555\">{}</text>\n",
        left + plot_w,
        height - 4.0,
        esc(unit)
    ));
    for (i, r) in rows.iter().enumerate() {
        let y = top + row_h * i as f64 + 5.0;
        let h = row_h - 10.0;
        let fill = if r.highlight { "#d9480f" } else { "#4c6ef5" };
        s.push_str(&format!(
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\"{}>{}</text>\n",
            left - 8.0,
            y + h / 2.0 + 4.5,
            if r.highlight {
                " font-weight=\"bold\""
            } else {
                ""
            },
            esc(&r.label)
        ));
        s.push_str(&format!(
            "<rect x=\"{left}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{h:.1}\" fill=\"{fill}\"/>\n",
            (x(r.value) - left).max(0.5)
        ));
        if r.max > r.min {
            let cy = y + h / 2.0;
            s.push_str(&format!(
                "<line x1=\"{:.1}\" y1=\"{cy:.1}\" x2=\"{:.1}\" y2=\"{cy:.1}\" stroke=\"#222\"/>\n<line x1=\"{:.1}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" stroke=\"#222\"/>\n<line x1=\"{:.1}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" stroke=\"#222\"/>\n",
                x(r.min),
                x(r.max),
                x(r.min),
                cy - 5.0,
                x(r.min),
                cy + 5.0,
                x(r.max),
                cy - 5.0,
                x(r.max),
                cy + 5.0
            ));
        }
        s.push_str(&format!(
            "<text x=\"{:.1}\" y=\"{:.1}\">{}</text>\n",
            x(r.value.max(r.max)) + 6.0,
            y + h / 2.0 + 4.5,
            esc(&fmt(r.value))
        ));
    }
    s.push_str("</svg>\n");
    s
}

/// One line of a line chart.
#[derive(Debug, Clone)]
pub struct Series {
    pub label: String,
    pub points: Vec<(f64, f64)>,
    pub colour: String,
}

/// A line chart with a shared x axis (seconds) and y axis starting at 0.
pub fn lines(title: &str, subtitle: &str, x_unit: &str, y_unit: &str, series: &[Series]) -> String {
    let (width, height) = (760.0, 340.0);
    let (left, right, top, bottom) = (70.0, 20.0, 78.0, 50.0);
    let pw = width - left - right;
    let ph = height - top - bottom;
    let all = series.iter().flat_map(|s| s.points.iter());
    let xmax = nice_max(all.clone().map(|p| p.0).fold(0.0, f64::max));
    let ymax = nice_max(all.map(|p| p.1).fold(0.0, f64::max) * 1.1);
    let px = |v: f64| left + pw * v / xmax;
    let py = |v: f64| top + ph * (1.0 - v / ymax);
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" font-family=\"sans-serif\" font-size=\"13\">\n\
<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n\
<text x=\"12\" y=\"22\" font-size=\"16\" font-weight=\"bold\">{}</text>\n\
<text x=\"12\" y=\"42\" fill=\"#555\">{}</text>\n",
        esc(title),
        esc(subtitle)
    );
    for i in 0..=4 {
        let v = ymax * i as f64 / 4.0;
        s.push_str(&format!(
            "<line x1=\"{left}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\" stroke=\"#ddd\"/>\n<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"#555\">{}</text>\n",
            left + pw,
            left - 6.0,
            py(v) + 4.0,
            trim_num(v),
            y = py(v)
        ));
        let xv = xmax * i as f64 / 4.0;
        s.push_str(&format!(
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#555\">{}</text>\n",
            px(xv),
            top + ph + 18.0,
            trim_num(xv)
        ));
    }
    s.push_str(&format!(
        "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"#555\">{}</text>\n<text x=\"12\" y=\"{:.1}\" fill=\"#555\">{}</text>\n",
        left + pw,
        height - 8.0,
        esc(x_unit),
        top - 6.0,
        esc(y_unit)
    ));
    for (i, se) in series.iter().enumerate() {
        let pts: Vec<String> = se
            .points
            .iter()
            .map(|(a, b)| format!("{:.1},{:.1}", px(*a), py(*b)))
            .collect();
        s.push_str(&format!(
            "<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"2\" points=\"{}\"/>\n<text x=\"{:.1}\" y=\"{:.1}\" fill=\"{}\">{}</text>\n",
            se.colour,
            pts.join(" "),
            left + 10.0 + 200.0 * i as f64,
            height - 28.0,
            se.colour,
            esc(&se.label)
        ));
    }
    s.push_str("</svg>\n");
    s
}

fn trim_num(v: f64) -> String {
    if v.fract().abs() < 1e-9 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nice_axis() {
        assert_eq!(nice_max(42_000.0), 50_000.0);
        assert_eq!(nice_max(95_000.0), 100_000.0);
        assert_eq!(nice_max(3.6), 5.0);
        assert_eq!(nice_max(0.0), 1.0);
    }

    #[test]
    fn bars_are_well_formed() {
        let rows = vec![
            Bar {
                label: "ours".into(),
                value: 40.0,
                min: 38.0,
                max: 41.0,
                highlight: true,
            },
            Bar {
                label: "a<b".into(),
                value: 10.0,
                min: 10.0,
                max: 10.0,
                highlight: false,
            },
        ];
        let s = bars("t", "s", "req/s", &rows, |v| format!("{v:.0}"));
        assert!(s.starts_with("<svg") && s.ends_with("</svg>\n"));
        assert_eq!(s.matches("<rect").count(), 3);
        assert!(s.contains("a&lt;b"));
        let l = lines(
            "t",
            "s",
            "s",
            "MB",
            &[Series {
                label: "rss".into(),
                points: vec![(0.0, 1.0), (10.0, 2.0)],
                colour: "#000".into(),
            }],
        );
        assert!(l.contains("<polyline"));
    }
}
