//! ContentDirectory:1 actions over a `Directory`: Browse, Search, the
//! capability queries, and Samsung's X_GetFeatureList / X_SetBookmark.
//! Input: a parsed `ActionCall`; output: out-arguments or a `UpnpError`.
//! What the tree holds and how its ids look is the `Directory`'s business
//! (swarmcast's is `library::Library`); this module knows neither.

use super::criteria::{Criteria, Sort, SEARCH_CAPS, SORT_CAPS};
use super::didl::{self, Filter, Presentation};
use super::object::Object;
use super::quirks::Quirks;
use super::soap::{ActionCall, UpnpError};

pub const SERVICE_TYPE: &str = "urn:schemas-upnp-org:service:ContentDirectory:1";

/// A failure of the directory behind the service (fault 501).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct DirectoryError(pub String);

/// What Browse of a container's children found.
#[derive(Debug, Clone, PartialEq)]
pub enum Children {
    /// One page (sorted as asked, from StartingIndex, at most
    /// RequestedCount) and how many children there are in all.
    Page(Vec<Object>, usize),
    /// The object exists but is an item.
    NotAContainer,
    NoSuchObject,
}

/// The tree a ContentDirectory serves: the seam between this protocol code
/// and whatever holds the objects. Ids are the directory's own strings.
pub trait Directory {
    /// The object `id`, as `client` is shown it.
    fn object(&self, id: &str, client: &Quirks) -> Result<Option<Object>, DirectoryError>;
    /// A page of a container's children, containers first, then in `sort`
    /// order; `count` 0 = all. `client`: who asks (what it can play).
    fn children(
        &self,
        id: &str,
        sort: &Sort,
        start: usize,
        count: usize,
        client: &Quirks,
    ) -> Result<Children, DirectoryError>;
    /// Search: one page (`sort` order, from `start`, at most `count`; 0 =
    /// all) of the objects below `scope` (not `scope` itself) that match
    /// `criteria`, and how many match in all; `None` when `scope` is not a
    /// container.
    fn search(
        &self,
        scope: &str,
        criteria: &Criteria,
        sort: &Sort,
        start: usize,
        count: usize,
    ) -> Result<Option<(Vec<Object>, usize)>, DirectoryError>;
    /// What is found elsewhere for a text a person typed into the TV's
    /// search box (a torrent search), best first; may wait on the network
    /// a bounded time.
    fn live_search(&self, typed: &str, client: &Quirks) -> Result<Vec<Object>, DirectoryError>;
    /// SystemUpdateID.
    fn system_update_id(&self) -> Result<u32, DirectoryError>;
    /// Store a resume position; `false` when `id` is no item.
    fn set_bookmark(&self, id: &str, position_ms: u64) -> Result<bool, DirectoryError>;
    /// The container Samsung's BASICVIEW lists video, audio and images from.
    fn basic_view_container(&self) -> String;
}

pub struct Context<'a> {
    pub directory: &'a dyn Directory,
    pub presentation: Presentation<'a>,
}

type Out = Vec<(&'static str, String)>;

fn failed(e: DirectoryError) -> UpnpError {
    UpnpError::action_failed(e.0)
}

/// StartingIndex/RequestedCount paging (0 = all).
pub fn page(objects: Vec<Object>, start: usize, count: usize) -> Vec<Object> {
    let it = objects.into_iter().skip(start);
    if count == 0 {
        it.collect()
    } else {
        it.take(count).collect()
    }
}

pub fn handle(call: &ActionCall, ctx: &Context<'_>) -> Result<Out, UpnpError> {
    match call.action.as_str() {
        "Browse" => browse(call, ctx),
        "Search" => search(call, ctx),
        "GetSearchCapabilities" => Ok(vec![("SearchCaps", SEARCH_CAPS.into())]),
        "GetSortCapabilities" => Ok(vec![("SortCaps", SORT_CAPS.into())]),
        "GetSystemUpdateID" => Ok(vec![(
            "Id",
            ctx.directory
                .system_update_id()
                .map_err(failed)?
                .to_string(),
        )]),
        "X_GetFeatureList" => Ok(vec![(
            "FeatureList",
            feature_list(&ctx.directory.basic_view_container()),
        )]),
        "X_SetBookmark" => set_bookmark(call, ctx),
        other => Err(UpnpError::invalid_action(format!(
            "ContentDirectory has no action {other}"
        ))),
    }
}

fn object_id<'c>(call: &'c ActionCall, names: &[&str]) -> Result<&'c str, UpnpError> {
    names
        .iter()
        .find_map(|n| call.arg(n))
        .ok_or_else(|| UpnpError::invalid_args(format!("missing argument {}", names[0])))
}

fn sort_of(call: &ActionCall, ctx: &Context<'_>) -> Result<Sort, UpnpError> {
    Sort::parse(
        ctx.presentation
            .quirks
            .sort
            .criteria(call.arg("SortCriteria").unwrap_or("")),
    )
    .map_err(UpnpError::bad_sort)
}

fn browse(call: &ActionCall, ctx: &Context<'_>) -> Result<Out, UpnpError> {
    // Xbox sends ContainerID instead of ObjectID.
    let raw_id = object_id(call, &["ObjectID", "ContainerID"])?;
    let flag = call.required("BrowseFlag")?;
    let filter = Filter::parse(call.arg("Filter").unwrap_or("*"));
    let start = call.number("StartingIndex")? as usize;
    let count = call.number("RequestedCount")? as usize;
    let sort = sort_of(call, ctx)?;
    let id = raw_id.trim();
    // A client's fixed container (Xbox's "15": all video) lists every item
    // of its class, flat.
    if let Some(class) = ctx.presentation.quirks.fixed_container(id) {
        let scope = ctx.directory.basic_view_container();
        let (objects, total) = match flag {
            "BrowseMetadata" => match ctx
                .directory
                .object(&scope, ctx.presentation.quirks)
                .map_err(failed)?
            {
                Some(o) => (vec![o], 1),
                None => (Vec::new(), 0),
            },
            _ => ctx
                .directory
                .search(&scope, &Criteria::All.of_class(class), &sort, start, count)
                .map_err(failed)?
                .unwrap_or_default(),
        };
        return result(objects, total, &filter, ctx);
    }
    let (objects, total) = match flag {
        "BrowseMetadata" => {
            let o = ctx
                .directory
                .object(id, ctx.presentation.quirks)
                .map_err(failed)?
                .ok_or_else(|| UpnpError::no_such_object(raw_id))?;
            (vec![o], 1)
        }
        "BrowseDirectChildren" => match ctx
            .directory
            .children(id, &sort, start, count, ctx.presentation.quirks)
            .map_err(failed)?
        {
            Children::Page(objects, total) => (objects, total),
            Children::NotAContainer => return Err(UpnpError::no_such_container(raw_id)),
            Children::NoSuchObject => return Err(UpnpError::no_such_object(raw_id)),
        },
        other => {
            return Err(UpnpError::invalid_args(format!(
                "BrowseFlag {other:?} is neither BrowseMetadata nor BrowseDirectChildren"
            )))
        }
    };
    result(objects, total, &filter, ctx)
}

fn result(
    objects: Vec<Object>,
    total: usize,
    filter: &Filter,
    ctx: &Context<'_>,
) -> Result<Out, UpnpError> {
    Ok(vec![
        ("Result", didl::write(&objects, filter, &ctx.presentation)),
        ("NumberReturned", objects.len().to_string()),
        ("TotalMatches", total.to_string()),
        (
            "UpdateID",
            ctx.directory
                .system_update_id()
                .map_err(failed)?
                .to_string(),
        ),
    ])
}

fn search(call: &ActionCall, ctx: &Context<'_>) -> Result<Out, UpnpError> {
    let raw_id = call.required("ContainerID")?;
    let criteria =
        Criteria::parse(call.required("SearchCriteria")?).map_err(UpnpError::bad_search)?;
    let filter = Filter::parse(call.arg("Filter").unwrap_or("*"));
    let start = call.number("StartingIndex")? as usize;
    let count = call.number("RequestedCount")? as usize;
    let sort = sort_of(call, ctx)?;
    let (scope, criteria) = match ctx.presentation.quirks.fixed_container(raw_id.trim()) {
        Some(class) => (
            ctx.directory.basic_view_container(),
            criteria.of_class(class),
        ),
        None => (raw_id.trim().to_owned(), criteria),
    };
    let scope = scope.as_str();
    // What the torrent search found for the typed text comes first, in its
    // ranking: its releases are the providers' matches for that text, so
    // the rest of the criteria (a class, say) is not asked of them. Then
    // the directory's own matches, paged after them.
    let live = match criteria.typed_text() {
        Some(text) => ctx
            .directory
            .live_search(&text, ctx.presentation.quirks)
            .map_err(failed)?,
        None => Vec::new(),
    };
    let live_count = live.len();
    let skip = start.saturating_sub(live_count);
    let mut objects = page(live, start, count);
    // A page full of live results still asks one match, for the count.
    let full = count > 0 && objects.len() == count;
    let want = if count == 0 {
        0
    } else {
        (count - objects.len()).max(1)
    };
    let (mine, total) = ctx
        .directory
        .search(scope, &criteria, &sort, skip, want)
        .map_err(failed)?
        .ok_or_else(|| UpnpError::no_such_container(raw_id))?;
    if !full {
        objects.extend(mine);
    }
    result(objects, live_count + total, &filter, ctx)
}

fn feature_list(container: &str) -> String {
    let id = crate::upnp::xml::escape(container);
    let mut s = String::from(concat!(
        r#"<?xml version="1.0" encoding="UTF-8"?>"#,
        r#"<Features xmlns="urn:schemas-upnp-org:av:avs" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance""#,
        r#" xsi:schemaLocation="urn:schemas-upnp-org:av:avs http://www.upnp.org/schemas/av/avs.xsd">"#,
        r#"<Feature name="samsung.com_BASICVIEW" version="1">"#,
    ));
    for class in ["videoItem", "audioItem", "imageItem"] {
        s.push_str(&format!(
            r#"<container id="{id}" type="object.item.{class}"/>"#
        ));
    }
    s.push_str("</Feature></Features>");
    s
}

fn set_bookmark(call: &ActionCall, ctx: &Context<'_>) -> Result<Out, UpnpError> {
    let raw_id = call.required("ObjectID")?;
    let secs = call.number("PosSecond")?;
    if !ctx
        .directory
        .set_bookmark(raw_id.trim(), u64::from(secs) * 1000)
        .map_err(failed)?
    {
        return Err(UpnpError::no_such_object(raw_id));
    }
    Ok(vec![])
}
