//! Palette names as the original (Bokeh) accepted them.

use super::CallError;

/// A family of colour maps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PaletteFamily {
    Viridis,
    Magma,
    Inferno,
    Plasma,
    Cividis,
    Turbo,
    Greys,
    Category10,
    Category20,
}

impl PaletteFamily {
    const ALL: [PaletteFamily; 9] = [
        Self::Viridis,
        Self::Magma,
        Self::Inferno,
        Self::Plasma,
        Self::Cividis,
        Self::Turbo,
        Self::Greys,
        Self::Category10,
        Self::Category20,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::Viridis => "Viridis",
            Self::Magma => "Magma",
            Self::Inferno => "Inferno",
            Self::Plasma => "Plasma",
            Self::Cividis => "Cividis",
            Self::Turbo => "Turbo",
            Self::Greys => "Greys",
            Self::Category10 => "Category10",
            Self::Category20 => "Category20",
        }
    }

    /// Categorical families: distinct colours, no interpolation between them.
    pub fn is_categorical(self) -> bool {
        matches!(self, Self::Category10 | Self::Category20)
    }

    /// The sizes Bokeh names for this family.
    fn accepts_size(self, size: usize) -> bool {
        match self {
            Self::Category10 => (3..=10).contains(&size),
            Self::Category20 => (3..=20).contains(&size),
            _ => (3..=11).contains(&size) || size == 256,
        }
    }
}

/// A palette: a family and a number of colours, e.g. `Viridis256` or
/// `Category10_10`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Palette {
    pub family: PaletteFamily,
    pub size: usize,
}

impl Palette {
    /// Parses a Bokeh palette name: `Viridis256`, `Greys9`, `Category10_10`.
    pub fn parse(name: &str) -> Result<Self, CallError> {
        let unknown = || CallError::UnknownPalette { name: name.to_owned() };
        for family in PaletteFamily::ALL {
            let Some(rest) = name.strip_prefix(family.name()) else {
                continue;
            };
            let digits = if family.is_categorical() {
                rest.strip_prefix('_')
            } else {
                Some(rest)
            };
            let Some(digits) = digits else { continue };
            if digits.is_empty() || digits.starts_with('0') || !digits.bytes().all(|b| b.is_ascii_digit()) {
                continue;
            }
            let size: usize = digits.parse().map_err(|_| unknown())?;
            if family.accepts_size(size) {
                return Ok(Self { family, size });
            }
            return Err(unknown());
        }
        Err(unknown())
    }

    /// The name as Bokeh spells it.
    pub fn name(&self) -> String {
        if self.family.is_categorical() {
            format!("{}_{}", self.family.name(), self.size)
        } else {
            format!("{}{}", self.family.name(), self.size)
        }
    }

    pub(super) fn known_names_summary() -> &'static str {
        "Viridis, Magma, Inferno, Plasma, Cividis, Turbo, Greys with 3..11 or 256 colours \
         (e.g. Viridis256), Category10_3..Category10_10, Category20_3..Category20_20"
    }
}
