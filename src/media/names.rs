//! Clean titles from release file names ("Show.S01E02.1080p.WEB.x264-GRP.mkv"
//! → "Show S01E02"), via hunch. Pure.

/// A title a TV can show for a file name.
pub fn clean_title(file_name: &str) -> String {
    let parsed = hunch::hunch(file_name);
    let fallback = || {
        let stem = super::stem(file_name);
        let spaced: String = stem
            .chars()
            .map(|c| if c == '.' || c == '_' { ' ' } else { c })
            .collect();
        spaced.split_whitespace().collect::<Vec<_>>().join(" ")
    };
    let Some(title) = parsed.title().map(str::trim).filter(|t| !t.is_empty()) else {
        return fallback();
    };
    let mut out = title.to_owned();
    match (parsed.season(), parsed.episode()) {
        (Some(s), Some(e)) => {
            out.push_str(&format!(" S{s:02}E{e:02}"));
            if let Some(et) = parsed.episode_title().filter(|t| !t.trim().is_empty()) {
                out.push_str(" - ");
                out.push_str(et.trim());
            }
        }
        (None, Some(e)) => out.push_str(&format!(" E{e:02}")),
        _ => {
            if let Some(y) = parsed.year() {
                out.push_str(&format!(" ({y})"));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn releases_become_titles() {
        assert_eq!(
            clean_title("The.Matrix.1999.1080p.BluRay.x264-GRP.mkv"),
            "The Matrix (1999)"
        );
        assert!(
            clean_title("Some.Show.S01E02.720p.WEB.h264-GRP.mkv").starts_with("Some Show S01E02")
        );
        assert!(!clean_title("clip.mp4").is_empty());
        assert!(clean_title("Tom & Jerry <Best>.mkv").contains("Tom & Jerry"));
        assert_eq!(clean_title("no_extension_here"), "no extension here");
    }
}
