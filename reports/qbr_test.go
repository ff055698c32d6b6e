package reports

import "testing"

// TestQBR loads one fixture (eight quarters of data through ingest.Store)
// and checks the workbook and the dashboard made from it, in Excel's and
// LibreOffice's view and in Chromium's.
func TestQBR(t *testing.T) {
	fx := newFixture(t)
	var book []byte
	t.Run("Workbook", func(t *testing.T) { book = testWorkbook(t, fx) })
	t.Run("WorkbookOverdue", func(t *testing.T) {
		if book == nil {
			t.Skip("no workbook")
		}
		testWorkbookOverdue(t, fx, book)
	})
	t.Run("CollectResults", func(t *testing.T) { testCollectResults(t, fx) })
	t.Run("WorkbookLibreOffice", func(t *testing.T) {
		if book == nil {
			t.Skip("no workbook")
		}
		testWorkbookLibreOffice(t, book)
	})
	t.Run("DashboardHTML", func(t *testing.T) { testDashboardHTML(t, fx) })
	t.Run("DashboardChromium", func(t *testing.T) { testDashboardChromium(t, fx) })
}
