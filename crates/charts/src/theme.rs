//! Light and dark chart colours (matching the app's CSS variables in ui/src/app.css).

use plotters::style::RGBColor;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Theme {
    #[default]
    Light,
    Dark,
}

/// The colours of one theme.
pub(crate) struct Palette {
    pub background: RGBColor,
    pub text: RGBColor,
    pub muted: RGBColor,
    pub grid: RGBColor,
    pub axis: RGBColor,
    pub series: [RGBColor; 6],
}

impl Theme {
    pub fn parse(s: &str) -> Option<Theme> {
        match s {
            "light" => Some(Theme::Light),
            "dark" => Some(Theme::Dark),
            _ => None,
        }
    }

    pub(crate) fn palette(self) -> Palette {
        match self {
            Theme::Light => Palette {
                background: RGBColor(0xff, 0xff, 0xff),
                text: RGBColor(0x1f, 0x23, 0x28),
                muted: RGBColor(0x59, 0x63, 0x6e),
                grid: RGBColor(0xe6, 0xe8, 0xeb),
                axis: RGBColor(0x8c, 0x95, 0x9f),
                series: [
                    RGBColor(0x2f, 0x6f, 0xde),
                    RGBColor(0xc9, 0x4a, 0x3d),
                    RGBColor(0x2e, 0x9a, 0x5b),
                    RGBColor(0xb7, 0x79, 0x0f),
                    RGBColor(0x7e, 0x4f, 0xc9),
                    RGBColor(0x1b, 0x8f, 0x9e),
                ],
            },
            Theme::Dark => Palette {
                background: RGBColor(0x15, 0x19, 0x20),
                text: RGBColor(0xe6, 0xed, 0xf3),
                muted: RGBColor(0x9d, 0xa7, 0xb3),
                grid: RGBColor(0x2d, 0x33, 0x3b),
                axis: RGBColor(0x6e, 0x76, 0x81),
                series: [
                    RGBColor(0x58, 0x9b, 0xff),
                    RGBColor(0xff, 0x7b, 0x72),
                    RGBColor(0x56, 0xd3, 0x64),
                    RGBColor(0xe3, 0xb3, 0x41),
                    RGBColor(0xbc, 0x8c, 0xff),
                    RGBColor(0x39, 0xc5, 0xcf),
                ],
            },
        }
    }
}
