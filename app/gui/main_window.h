// The window a researcher lives in: models, prompt and method panels, five dockable plots, the
// sample inspector and the session's run list; the engine runs behind RunController.
#pragma once
#include <functional>
#include <QMainWindow>

#include <deque>
#include <memory>
#include <vector>

#include "rudder/sweep.h"

#include "run_controller.h"
#include "run_data.h"

class QDockWidget;
class QLabel;
class QProgressBar;
class QTimer;

namespace rudder::widgets {
class AcceptancePlot;
class BetaCurvePlot;
class AnswersPlot;
class MethodPanel;
class ModelsPanel;
class PromptPanel;
class RewardCurvePlot;
class RewardDistributionPlot;
class RunPlot;
class SampleInspector;
class SessionsPanel;
class SweepView;
class ValueModelView;
class ExportDialog;
struct SweepChoice;
struct CompareChoice;
class WeightHistogramPlot;
struct ExportOptions;
} // namespace rudder::widgets

namespace rudder::gui {

class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    // sessionPath "" = the default session under the user's data directory.
    explicit MainWindow(const QString& sessionPath = {}, QWidget* parent = nullptr);
    ~MainWindow() override;

    RunController* controller() const { return ctl_; }
    widgets::ModelsPanel* modelsPanel() const { return models_; }
    widgets::PromptPanel* promptPanel() const { return prompt_; }
    widgets::MethodPanel* methodPanel() const { return method_; }
    widgets::SessionsPanel* sessionsPanel() const { return sessions_; }
    widgets::SampleInspector* inspector() const { return inspector_; }
    widgets::RewardCurvePlot* rewardPlot() const { return rewardPlot_; }
    widgets::SweepView* sweepView() const { return sweepView_; }
    widgets::ValueModelView* valueView() const { return valueView_; }
    bool sweepRunning() const { return sweepActive_; }
    const std::vector<widgets::RunPlot*>& plots() const { return plots_; }
    const widgets::RunData& current() const { return *current_; }
    int64_t currentRunId() const { return currentRunId_; }
    // Longest GUI-thread refresh of plots + table so far, in milliseconds (responsiveness check).
    double slowestRefreshMs() const { return slowestRefreshMs_; }

    // The window's actions, callable from tests.
    void loadModels(bool quiet = false);   // quiet: errors only in the Models panel (start-up)
    void startRun(bool smallBudget = false);
    void stopRun();
    QString openSession(const QString& path);       // "" or the error
    QString reopenRun(int64_t runId);
    QString overlayRuns(const std::vector<int64_t>& runIds);
    // Resumes a stored run; when the loaded models are not the run's own, loads the ones it
    // recorded first and resumes once they are ready.  "" or the error.
    // modelsJustLoaded: the second call, after that load (a still-differing model is refused).
    QString resumeRun(int64_t runId, bool modelsJustLoaded = false);
    // Asked before a resume loads a recorded model, reward or gold that runs a command (cmd:) or
    // contacts a server (http://) the current choice does not already name: the text lists them;
    // true = go ahead.  Default: a Yes/No dialog showing the commands (tests replace it).
    std::function<bool(const QString&)> confirmSessionSpecs;
    // QAlign's "Tune β": pilot chains on the worker, then β (absolute) set on the panel.  "" or why not.
    QString tuneBeta(double targetAcceptance = 0.5);
    // RE-Control's "Train value model": on the prompts with the tab's training settings and seed,
    // kept in the session's value store; the panel then uses it.  "" or why not.
    QString trainValue();
    QString exportFigure(int plotIndex, const QString& path, const widgets::ExportOptions& o);   // -1 = dashboard
    // A grid of the current method's settings (the method panel's values elsewhere) x seeds against
    // the reference at the same budget, run one after another on the worker, each a tagged run of the
    // session; points already done in the session are skipped.  "" or why not.
    QString startSweep(const widgets::SweepChoice& choice);
    // Several methods (each with its tab's settings) x seeds at the same budget against best-of-n,
    // run like a sweep over "method"; when done the reward curves show each method's mean ± se.
    QString startComparison(const widgets::CompareChoice& choice);
    void refreshNow();

signals:
    void runDone(qint64 runId, int status);
    void sweepDone(QString name, int runsMade, QString error);   // error "" = every point done
    void betaTuned(double beta);
    void valueModelReady(QString path, QString error);   // a value model trained or found ("" path on error)
    void resumeAfterLoad(qint64 runId, QString error);   // a resume that first loaded the run's models: "" = resumed

protected:
    void closeEvent(QCloseEvent* e) override;

private:
    void buildDocks();
    void buildMenus();
    void restoreSettings();
    void saveSettings();
    void onEventsReady();
    void onRunFinished(qint64 runId, const RunResult& r);
    void scheduleRefresh();
    void updateProgress();
    void beginRun(const RunJob& job);
    void showError(const QString& title, const QString& message);
    void setCurrent(std::unique_ptr<widgets::RunData> run);
    int64_t expectedSamples() const;
    void exportInteractive();
    void exportSweepInteractive();
    void sweepInteractive();
    void compareInteractive();
    QString runPlan(const SweepPlan& plan);   // queues the plan's runs not yet in the session
    void nextSweepJob();
    void endSweep(const QString& error);
    // Runs the export dialog with the remembered options, then asks where; false = cancelled.
    bool askExport(widgets::ExportDialog& dlg, widgets::ExportOptions& o, QString& path);

    RunController* ctl_;
    widgets::ModelsPanel* models_;
    widgets::PromptPanel* prompt_;
    widgets::MethodPanel* method_;
    widgets::SessionsPanel* sessions_;
    widgets::SampleInspector* inspector_;
    widgets::RewardCurvePlot* rewardPlot_;
    widgets::AcceptancePlot* acceptPlot_;
    widgets::WeightHistogramPlot* weightPlot_;
    widgets::RewardDistributionPlot* distPlot_;
    widgets::BetaCurvePlot* betaPlot_;
    widgets::AnswersPlot* answersPlot_;
    widgets::SweepView* sweepView_;
    widgets::ValueModelView* valueView_;
    QDockWidget* valueDock_ = nullptr;
    QDockWidget* sweepDock_ = nullptr;
    QDockWidget* curvesDock_ = nullptr;
    struct QueuedJob {
        SweepJob job;
        int64_t resumeRunId = -1;   // an unfinished run of this point in the session, continued
    };
    std::deque<QueuedJob> sweepQueue_;
    std::vector<PromptRecord> sweepPrompts_;
    std::string sweepTemplate_, sweepName_;
    std::vector<std::string> sweepKeys_;
    bool sweepActive_ = false;
    int sweepRunsMade_ = 0, sweepTotal_ = 0;
    std::vector<widgets::RunPlot*> plots_;
    std::vector<QDockWidget*> docks_;
    QProgressBar* progress_;
    QLabel* rate_;
    QTimer* refreshTimer_;
    std::unique_ptr<widgets::RunData> current_;
    std::vector<std::unique_ptr<widgets::RunData>> overlays_;
    int64_t currentRunId_ = -1;
    int64_t pendingResume_ = -1;   // run to resume once the models being loaded are ready
    bool tuning_ = false;          // the worker is running β pilot chains
    int64_t expectedSamples_ = 0;
    bool running_ = false;
    bool rerunWhenStopped_ = false;
    bool lastWasSmall_ = false;
    bool quietLoad_ = false;
    double slowestRefreshMs_ = 0;
    QByteArray defaultState_;
};

} // namespace rudder::gui
