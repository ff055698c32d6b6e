package metrics

import "context"

func (e *Engine) coverage(ctx context.Context, d Definition, pl plan, groupBy string, f Filter, s Scope) (computed, error) {
	return computed{t: table{}}, nil
}
func (e *Engine) threatModels(ctx context.Context, d Definition, pl plan, groupBy string, f Filter, s Scope) (computed, error) {
	return computed{t: table{}}, nil
}
func (e *Engine) precision(ctx context.Context, d Definition, pl plan, groupBy string, f Filter, s Scope) (computed, error) {
	return computed{t: table{}}, nil
}
func (e *Engine) triage(ctx context.Context, d Definition, pl plan, groupBy string, f Filter, s Scope) (computed, error) {
	return computed{t: table{}}, nil
}
func (e *Engine) contain(ctx context.Context, d Definition, pl plan, groupBy string, f Filter, s Scope) (computed, error) {
	return computed{t: table{}}, nil
}
func (e *Engine) toil(ctx context.Context, d Definition, pl plan, groupBy string, f Filter, s Scope) (computed, error) {
	return computed{t: table{}}, nil
}
func (e *Engine) cycleTime(ctx context.Context, d Definition, pl plan, groupBy string, f Filter, s Scope) (computed, error) {
	return computed{t: table{}}, nil
}
func (e *Engine) debt(ctx context.Context, d Definition, pl plan, groupBy string, f Filter, s Scope) (computed, error) {
	return computed{t: table{}}, nil
}
