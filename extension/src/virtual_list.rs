//! A virtualised list: of `len` rows of one fixed height, only those in view (plus a few above
//! and below) are in the DOM; the list keeps the full scroll height, so the scroll bar, `Page
//! Down` and the browser's scrolling of a focused row into view behave as with every row there.
//! The roster uses it (500 agents today, thousands on a supervisor's floor).
//!
//! [`window`] is the pure decision (host-tested); the component is `VirtualList`.

/// The rows to render, `start..end`, for a viewport of `height` px scrolled to `scroll_top`, with
/// `overscan` rows beyond each edge.
pub fn window(len: usize, row_height: u32, scroll_top: i32, height: i32, overscan: usize) -> std::ops::Range<usize> {
    let row = row_height.max(1) as i64;
    let visible = (height.max(0) as i64 + row - 1) / row + 1;
    let first = (scroll_top.max(0) as i64 / row) as usize;
    // A list that shrank under a scrolled viewport: the browser clamps scrollTop, but not before
    // this render, so the last screenful is shown rather than nothing.
    let first = first.min(len.saturating_sub(visible as usize));
    let start = first.saturating_sub(overscan);
    let end = (first + visible as usize + overscan).min(len);
    start..end
}

#[cfg(target_arch = "wasm32")]
pub use component::{Measure, VirtualList, VirtualListProps};

#[cfg(target_arch = "wasm32")]
mod component {
    use wasm_bindgen::JsCast;
    use wasm_bindgen::prelude::Closure;
    use yew::prelude::*;

    /// A viewport height to assume before the first measurement (a tall panel).
    const FIRST_HEIGHT: i32 = 900;

    #[derive(Properties, PartialEq)]
    pub struct VirtualListProps {
        pub len: usize,
        /// Every row's height in px; rows must be styled to exactly this height.
        pub row_height: u32,
        /// Renders row `i` (an `<li>`, keyed, with `aria-posinset`/`aria-setsize` for screen
        /// readers, since only some rows are in the DOM).
        pub row: Callback<usize, Html>,
        pub label: AttrValue,
        #[prop_or_default]
        pub class: Classes,
        #[prop_or(6)]
        pub overscan: usize,
    }

    /// `<div class="vlist {class}"><ul aria-label>rows in view</ul></div>`; the `div` scrolls.
    /// (A struct component, as the rest of the panel: no hook machinery in the Wasm.)
    pub struct VirtualList {
        viewport: NodeRef,
        scroll_top: i32,
        height: i32,
        on_resize: Option<Closure<dyn Fn()>>,
    }

    /// The viewport scrolled or was resized: measure it again.
    pub struct Measure;

    impl Component for VirtualList {
        type Message = Measure;
        type Properties = VirtualListProps;

        fn create(_ctx: &Context<Self>) -> Self {
            Self { viewport: NodeRef::default(), scroll_top: 0, height: FIRST_HEIGHT, on_resize: None }
        }

        fn update(&mut self, _ctx: &Context<Self>, _msg: Measure) -> bool {
            let Some(el) = self.viewport.cast::<web_sys::Element>() else { return false };
            let measured = (el.scroll_top(), el.client_height());
            let changed = measured != (self.scroll_top, self.height);
            (self.scroll_top, self.height) = measured;
            changed
        }

        fn view(&self, ctx: &Context<Self>) -> Html {
            let props = ctx.props();
            let range = super::window(props.len, props.row_height, self.scroll_top, self.height, props.overscan);
            let (before, total) = (range.start as u32 * props.row_height, props.len as u32 * props.row_height);
            let style = format!("height:{total}px;padding-top:{before}px");
            html! {
                <div class={classes!("vlist", props.class.clone())} ref={self.viewport.clone()}
                    onscroll={ctx.link().callback(|_: Event| Measure)}>
                    <ul aria-label={props.label.clone()} {style}>
                        {for range.map(|i| props.row.emit(i))}
                    </ul>
                </div>
            }
        }

        fn rendered(&mut self, ctx: &Context<Self>, first_render: bool) {
            if first_render {
                // Measure once mounted and whenever the window (so the panel) is resized.
                ctx.link().send_message(Measure);
                let link = ctx.link().clone();
                let on_resize = Closure::<dyn Fn()>::new(move || link.send_message(Measure));
                if let Some(w) = web_sys::window() {
                    let _ = w.add_event_listener_with_callback("resize", on_resize.as_ref().unchecked_ref());
                }
                self.on_resize = Some(on_resize);
            }
        }

        fn destroy(&mut self, _ctx: &Context<Self>) {
            if let (Some(w), Some(f)) = (web_sys::window(), self.on_resize.take()) {
                let _ = w.remove_event_listener_with_callback("resize", f.as_ref().unchecked_ref());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::window;

    #[test]
    fn renders_the_rows_in_view_and_the_overscan() {
        // 500 rows of 48 px in a 480 px viewport: 11 rows can be seen at once.
        assert_eq!(window(500, 48, 0, 480, 6), 0..17);
        assert_eq!(window(500, 48, 4_800, 480, 6), 94..117);
        assert_eq!(window(500, 48, 4_810, 480, 6), 94..117);
        // The end of the list.
        assert_eq!(window(500, 48, 500 * 48 - 480, 480, 6), 483..500);
    }

    #[test]
    fn short_and_shrunk_lists() {
        assert_eq!(window(5, 48, 0, 480, 6), 0..5);
        assert_eq!(window(0, 48, 0, 480, 6), 0..0);
        // Scrolled far down, then a search leaves 20 rows: the last screenful, not nothing.
        assert_eq!(window(20, 48, 4_800, 480, 2), 7..20);
        // Not measured or hidden: no negative sizes.
        assert_eq!(window(500, 48, -10, -1, 0), 0..1);
        assert_eq!(window(500, 0, 0, 10, 0), 0..11);
    }
}
