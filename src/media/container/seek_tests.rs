//! Seek points read from real files: MP4 (moov at the end and at the start)
//! and Matroska made by ffmpeg, compared with the keyframes `ffprobe
//! -show_packets` lists (their time and byte position).

use std::path::Path;
use std::process::Command;

use super::{locate_in_memory, Container};

/// A 20 s clip with a keyframe every 37 frames (1.48 s at 25 fps), B-frames
/// (x264 superfast) and an AAC track, as `name` in `dir`.
fn clip(dir: &Path, name: &str, extra: &[&str]) -> Vec<u8> {
    let path = dir.join(name);
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "lavfi"])
        .args(["-i", "testsrc=duration=20:size=320x240:rate=25"])
        .args(["-f", "lavfi", "-i", "sine=frequency=440:duration=20"])
        .args([
            "-c:v",
            "libx264",
            "-preset",
            "superfast",
            "-pix_fmt",
            "yuv420p",
        ])
        .args(["-g", "37", "-keyint_min", "37", "-sc_threshold", "0"])
        .args(["-c:a", "aac", "-shortest"])
        .args(extra)
        .arg(&path)
        .status()
        .expect("ffmpeg runs");
    assert!(status.success(), "ffmpeg made {name}");
    std::fs::read(path).unwrap()
}

/// The video keyframes ffprobe sees: (presentation ms, byte position).
fn keyframes(dir: &Path, name: &str) -> Vec<(u64, u64)> {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "v:0"])
        .args([
            "-show_entries",
            "packet=pts_time,pos,flags",
            "-of",
            "csv=p=0",
        ])
        .arg(dir.join(name))
        .output()
        .expect("ffprobe runs");
    let text = String::from_utf8(out.stdout).unwrap();
    let frames: Vec<(u64, u64)> = text
        .lines()
        .filter(|l| l.ends_with("K_") || l.ends_with('K'))
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            let secs: f64 = f[0].parse().unwrap();
            ((secs * 1000.0).round() as u64, f[1].parse().unwrap())
        })
        .collect();
    assert!(frames.len() >= 10, "ffprobe lists the keyframes: {text}");
    frames
}

/// The keyframe at or before `ms` in ffprobe's list (the first if before it).
fn expected(frames: &[(u64, u64)], ms: u64) -> (u64, u64) {
    *frames
        .iter()
        .rev()
        .find(|f| f.0 <= ms)
        .unwrap_or(&frames[0])
}

const TIMES_MS: [u64; 7] = [0, 1000, 3300, 10_000, 10_360, 15_500, 19_900];

#[test]
fn mp4_seek_points_are_ffprobes_keyframes_with_the_moov_at_either_end() {
    let dir = tempfile::tempdir().unwrap();
    for (name, extra) in [
        ("end.mp4", &[][..]),
        ("start.mp4", &["-movflags", "+faststart"][..]),
    ] {
        let file = clip(dir.path(), name, extra);
        let frames = keyframes(dir.path(), name);
        let info = locate_in_memory(Container::Mp4, &file);
        let seek = info.seek.unwrap_or_else(|| panic!("{name}: seek points"));
        assert_eq!(seek.points().len(), frames.len(), "{name}");
        for ms in TIMES_MS {
            let (want_ms, want_pos) = expected(&frames, ms);
            let got = seek.at_or_before(ms);
            assert_eq!(got.offset, want_pos, "{name} at {ms} ms");
            assert!(
                got.ms.abs_diff(want_ms) <= 1,
                "{name} at {ms} ms: {got:?} vs {want_ms}"
            );
        }
    }
}

#[test]
fn matroska_seek_points_are_the_clusters_of_ffprobes_keyframes() {
    let dir = tempfile::tempdir().unwrap();
    let file = clip(dir.path(), "clip.mkv", &[]);
    let frames = keyframes(dir.path(), "clip.mkv");
    let info = locate_in_memory(Container::Matroska, &file);
    assert_eq!(info.how, "cues");
    let seek = info.seek.expect("seek points from the Cues");
    assert_eq!(seek.points().len(), frames.len());
    for ms in TIMES_MS {
        let (want_ms, want_pos) = expected(&frames, ms);
        let got = seek.at_or_before(ms);
        assert!(
            got.ms.abs_diff(want_ms) <= 1,
            "at {ms} ms: {got:?} vs {want_ms}"
        );
        // A player resumes at a cluster: the point is the start of the
        // cluster that holds the keyframe's block.
        let at = got.offset as usize;
        let cluster = super::ebml::read_element(&file, at).expect("an element at the point");
        assert_eq!(
            cluster.id,
            super::ebml::CLUSTER,
            "at {ms} ms: a Cluster starts there"
        );
        let end = at + cluster.header + cluster.size.unwrap() as usize;
        assert!((at as u64..end as u64).contains(&want_pos), "at {ms} ms");
    }
}
