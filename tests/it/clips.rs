//! Media made by ffmpeg for tests, and its video keyframes as ffprobe lists
//! them. Shared by the integration tests and the container unit tests
//! (`src/media/container/seek_tests.rs` includes this file).

use std::path::Path;
use std::process::Command;

/// A 20 s clip with a keyframe every 37 frames (1.48 s at 25 fps),
/// B-frames (x264 superfast) and an AAC track, written to `path` (its
/// extension picks the container); `extra` goes before the output.
pub fn keyframes_every_1_48_s(path: &Path, extra: &[&str]) -> Vec<u8> {
    let video = [
        "-c:v",
        "libx264",
        "-preset",
        "superfast",
        "-pix_fmt",
        "yuv420p",
    ];
    let gop = ["-g", "37", "-keyint_min", "37", "-sc_threshold", "0"];
    let audio = ["-f", "lavfi", "-i", "sine=frequency=440:duration=20"];
    let args = [
        &audio[..],
        &video,
        &gop,
        &["-c:a", "aac", "-shortest"],
        extra,
    ]
    .concat();
    ffmpeg("testsrc=duration=20:size=320x240:rate=25", &args, path)
}

/// ffmpeg from a lavfi video `source` with these arguments, to `path`; its bytes.
pub fn ffmpeg(source: &str, args: &[&str], path: &Path) -> Vec<u8> {
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "lavfi", "-i", source])
        .args(args)
        .arg(path)
        .status()
        .expect("ffmpeg runs");
    assert!(status.success(), "ffmpeg made {}", path.display());
    std::fs::read(path).unwrap()
}

/// The video keyframes ffprobe lists: (presentation ms, byte position).
pub fn keyframes(path: &Path) -> Vec<(u64, u64)> {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "v:0"])
        .args([
            "-show_entries",
            "packet=pts_time,pos,flags",
            "-of",
            "csv=p=0",
        ])
        .arg(path)
        .output()
        .expect("ffprobe runs");
    let text = String::from_utf8(out.stdout).unwrap();
    let frames: Vec<(u64, u64)> = text
        .lines()
        .filter(|l| l.ends_with("K_"))
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            let secs: f64 = f[0].parse().unwrap();
            ((secs * 1000.0).round() as u64, f[1].parse().unwrap())
        })
        .collect();
    assert!(!frames.is_empty(), "ffprobe lists keyframes: {text}");
    frames
}

/// The keyframe at or before `ms` (the first if it is before them all).
pub fn keyframe_before(frames: &[(u64, u64)], ms: u64) -> (u64, u64) {
    *frames
        .iter()
        .rev()
        .find(|f| f.0 <= ms)
        .unwrap_or(&frames[0])
}
