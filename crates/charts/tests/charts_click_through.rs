//! Every chart over a seeded mirror: its exact points select exactly their orders, it
//! renders to SVG (with one hit area per drawn bar/point) and PNG, in both themes.

use chrono::{Duration, TimeZone, Utc};
use flexdesk_charts::{
    build_chart, kpis, load_facts, render_png, render_svg, ChartKind, ChartRequest, Granularity, RenderOptions, Theme,
};
use flexdesk_mirror::{Account, Environment, Mirror};
use flexfactor_sandbox::{seed_history, SandboxConfig, SandboxCredentials};

type R = Result<(), Box<dyn std::error::Error>>;

fn seeded(n: usize) -> Result<(Mirror, chrono::DateTime<Utc>), Box<dyn std::error::Error>> {
    let anchor = Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).single().ok_or("anchor")?;
    let mut config = SandboxConfig::demo(7, anchor, SandboxCredentials::new("k", "s"));
    config.order_count = n;
    let mut mirror = Mirror::open_in_memory()?;
    mirror.insert_account(&Account {
        id: "a".into(),
        name: "A".into(),
        environment: Environment::Demo,
        base_url: "http://127.0.0.1/v1".into(),
        mid: "m".into(),
        app_key: "k".into(),
        demo_seed: None,
        demo_anchor: None,
        created_at: anchor,
    })?;
    mirror.apply_orders("a", &seed_history(&config), None)?;
    Ok((mirror, anchor))
}

#[test]
fn exact_points_and_kpis_open_exactly_the_orders_they_count() -> R {
    let (mirror, anchor) = seeded(4_000)?;
    let from = Utc.with_ymd_and_hms(2026, 9, 10, 0, 0, 0).single().ok_or("from")?;
    let to = Utc.with_ymd_and_hms(2026, 11, 24, 0, 0, 0).single().ok_or("to")?;
    let facts = load_facts(&mirror, "a", Some(from), Some(to))?;
    let currencies = flexdesk_charts::currencies(&facts);
    assert_eq!(currencies.first().map(String::as_str), Some("USD"));
    let mut checked = 0;
    for currency in &currencies {
        let k = kpis(&facts, currency, from, to);
        for kpi in [&k.recovered, &k.recovery_rate, &k.pending, &k.refunds, &k.net_recovered] {
            assert!(kpi.drill.exact);
            assert_eq!(mirror.count_orders("a", &kpi.drill.to_filter())?, kpi.count, "KPI {}", kpi.id);
        }
        for kind in ChartKind::ALL {
            for granularity in [Granularity::Day, Granularity::Week, Granularity::Month] {
                let req = ChartRequest {
                    kind,
                    currency: currency.clone(),
                    from,
                    to,
                    granularity,
                    top_n: 5,
                    today: anchor.date_naive(),
                };
                let chart = build_chart(&facts, &req)?;
                for s in &chart.series {
                    for p in &s.points {
                        let listed = mirror.count_orders("a", &p.drill.to_filter())?;
                        if p.drill.exact {
                            assert_eq!(listed, p.count, "{kind:?} {} {}", s.name, p.label);
                            checked += 1;
                        } else {
                            assert!(listed >= p.count, "{kind:?} superset {} {}", s.name, p.label);
                        }
                    }
                }
            }
        }
    }
    assert!(checked > 300, "only {checked} exact points");
    let _ = Duration::days(1);
    Ok(())
}

#[test]
fn every_chart_renders_to_svg_with_hit_areas_and_to_png_in_both_themes() -> R {
    let (mirror, anchor) = seeded(2_000)?;
    let from = anchor - Duration::days(90);
    let to = anchor + Duration::days(1);
    let facts = load_facts(&mirror, "a", Some(from), Some(to))?;
    let dir = tempfile::tempdir()?;
    for kind in ChartKind::ALL {
        let req = ChartRequest {
            kind,
            currency: "USD".into(),
            from,
            to,
            granularity: Granularity::Week,
            top_n: 6,
            today: anchor.date_naive(),
        };
        let chart = build_chart(&facts, &req)?;
        for theme in [Theme::Light, Theme::Dark] {
            let svg = render_svg(&chart, &RenderOptions { width: 720, height: 360, theme, interactive: true })?;
            assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"), "{kind:?}");
            assert!(svg.contains("viewBox"));
            assert!(svg.contains(&chart.title));
            let drawn: usize = chart.series.iter().map(|s| s.points.iter().filter(|p| p.value > 0).count()).sum();
            assert!(svg.matches("class=\"hit\"").count() >= drawn, "{kind:?}: every drawn bar is clickable");
            let background = if theme == Theme::Dark { "#151920" } else { "#FFFFFF" };
            assert!(svg.to_uppercase().contains(background), "{kind:?} {theme:?} background");
            let png = dir.path().join(format!("{}-{theme:?}.png", kind.as_str()));
            render_png(&chart, &RenderOptions { width: 640, height: 320, theme, interactive: false }, &png)?;
            let bytes = std::fs::read(&png)?;
            assert_eq!(&bytes[1..4], b"PNG");
        }
    }
    Ok(())
}

/// The `x`, `y`, `width` and `height` of every `<rect …>` in `svg` whose text contains
/// `marker` and not `unless`.
fn rects(svg: &str, marker: &str, unless: &str) -> Vec<[f64; 4]> {
    let attr = |tag: &str, name: &str| -> Option<f64> {
        let start = tag.find(&format!(" {name}=\""))? + name.len() + 3;
        tag[start..].split('"').next()?.parse().ok()
    };
    svg.split("<rect")
        .skip(1)
        .filter_map(|rest| rest.split('>').next())
        .filter(|tag| tag.contains(marker) && !tag.contains(unless))
        .filter_map(|tag| Some([attr(tag, "x")?, attr(tag, "y")?, attr(tag, "width")?, attr(tag, "height")?]))
        .collect()
}

#[test]
fn every_bar_is_clickable_exactly_where_it_is_drawn() -> R {
    let (mirror, anchor) = seeded(2_000)?;
    let from = anchor - Duration::days(90);
    let to = anchor + Duration::days(1);
    let facts = load_facts(&mirror, "a", Some(from), Some(to))?;
    for kind in [ChartKind::RecoveredAmount, ChartKind::CitVsMit, ChartKind::DeclineCodes] {
        let req = ChartRequest {
            kind,
            currency: "USD".into(),
            from,
            to,
            granularity: Granularity::Week,
            top_n: 6,
            today: anchor.date_naive(),
        };
        let chart = build_chart(&facts, &req)?;
        let svg =
            render_svg(&chart, &RenderOptions { width: 720, height: 360, theme: Theme::Light, interactive: true })?;
        let hits = rects(&svg, "class=\"hit\"", "\u{0}");
        let bars = rects(&svg, "fill=\"#", "class=\"hit\"");
        assert!(!hits.is_empty(), "{kind:?}: no hit areas");
        for h in &hits {
            let drawn = bars.iter().any(|b| {
                (b[0] - h[0]).abs() <= 1.5
                    && (b[1] - h[1]).abs() <= 1.5
                    && (b[2] - h[2]).abs() <= 2.5
                    && (b[3] - h[3]).abs() <= 2.5
            });
            let near: Vec<_> = bars.iter().filter(|b| (b[0] - h[0]).abs() < 10.0).collect();
            assert!(drawn, "{kind:?}: the hit area {h:?} covers no bar drawn there; near: {near:?}");
        }
    }
    Ok(())
}
