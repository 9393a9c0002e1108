//! Seek points read from real files: MP4 (moov at the end and at the start)
//! and Matroska made by ffmpeg, compared with the keyframes `ffprobe
//! -show_packets` lists (their time and byte position).

use super::{locate_in_memory, Container};

#[path = "../../../tests/it/clips.rs"]
mod clips;
use clips::{keyframe_before as expected, keyframes, keyframes_every_1_48_s};

const TIMES_MS: [u64; 7] = [0, 1000, 3300, 10_000, 10_360, 15_500, 19_900];

#[test]
fn mp4_seek_points_are_ffprobes_keyframes_with_the_moov_at_either_end() {
    let dir = tempfile::tempdir().unwrap();
    for (name, extra) in [
        ("end.mp4", &[][..]),
        ("start.mp4", &["-movflags", "+faststart"][..]),
    ] {
        let file = keyframes_every_1_48_s(&dir.path().join(name), extra);
        let frames = keyframes(&dir.path().join(name));
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
    let file = keyframes_every_1_48_s(&dir.path().join("clip.mkv"), &[]);
    let frames = keyframes(&dir.path().join("clip.mkv"));
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
